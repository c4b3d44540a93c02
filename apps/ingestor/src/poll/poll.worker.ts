import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { AlertJobName, JobName, QueueName, type PollJobData } from '@dash/domain';
import { DASH_CONFIG, dispatchJobs, REDIS_WORKER, RedisKeys, type DashConfig, type LastPoll } from '@dash/infra';
import { Worker, type Job } from 'bullmq';
import type { RedisClient } from '@dash/infra';
import { AlertEvaluator } from '../alerts/alert-evaluator';
import { PollService } from './poll.service';

/** Runs the `default` queue's jobs: polls (scheduled by the web app per poll source, or asked for now) and alert rounds. */
@Injectable()
export class PollWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PollWorker.name);
  private worker: Worker<PollJobData, LastPoll | null> | null = null;

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly keys: RedisKeys,
    private readonly polls: PollService,
    private readonly alerts: AlertEvaluator,
    @Inject(REDIS_WORKER) private readonly connection: RedisClient,
  ) {}

  onApplicationBootstrap(): void {
    // The alert rounds share the `default` queue (one worker per queue and process).
    const processor = dispatchJobs(
      QueueName.Default,
      {
        [JobName.Poll]: (job: Job<PollJobData>) => this.polls.poll(job.data.pipelineId),
        [AlertJobName.Evaluate]: async () => {
          await this.alerts.round();
          return null;
        },
      },
      this.logger,
    );
    this.worker = new Worker<PollJobData, LastPoll | null>(QueueName.Default, processor, {
      connection: this.connection,
      prefix: this.keys.bull,
      concurrency: this.config.queues.default,
    });
    this.worker.on('error', (error) => this.logger.warn(`worker: ${error.message}`));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }
}
