import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { AlertJobName, JobName, QueueName, type PollJobData } from '@dash/domain';
import { createRedis, DASH_CONFIG, quit, RedisKeys, type DashConfig, type LastPoll } from '@dash/infra';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { AlertEvaluator } from '../alerts/alert-evaluator';
import { PollService } from './poll.service';

/** Runs poll jobs (scheduled by the web app per poll source, or asked for now) from the `default` queue. */
@Injectable()
export class PollWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PollWorker.name);
  private readonly connection: Redis;
  private worker: Worker<PollJobData, LastPoll | null> | null = null;

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly keys: RedisKeys,
    private readonly polls: PollService,
    private readonly alerts: AlertEvaluator,
  ) {
    this.connection = createRedis(config.redisUrl, 'worker', 'poll-worker');
  }

  onApplicationBootstrap(): void {
    this.worker = new Worker<PollJobData, LastPoll | null>(QueueName.Default, (job) => this.process(job), {
      connection: this.connection,
      prefix: this.keys.bull,
      concurrency: this.config.queues.default,
    });
    this.worker.on('error', (error) => this.logger.warn(`worker: ${error.message}`));
  }

  private async process(job: Job<PollJobData>): Promise<LastPoll | null> {
    // The alert rounds share the `default` queue (one worker per queue and process).
    if (job.name === AlertJobName.Evaluate) {
      await this.alerts.round();
      return null;
    }
    if (job.name !== JobName.Poll) throw new Error(`unknown job ${job.name}`);
    return this.polls.poll(job.data.pipelineId);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    await quit(this.connection);
  }
}
