import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { JobName, QueueName, type PollJobData } from '@dash/domain';
import { DASH_CONFIG, dispatchJobs, REDIS_WORKER, RedisKeys, type DashConfig, type LastPoll } from '@dash/infra';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { PollService } from './poll.service';

/** Runs poll jobs (scheduled by the web app per poll source, or asked for now) from the `default` queue. */
@Injectable()
export class PollWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PollWorker.name);
  private worker: Worker<PollJobData, LastPoll | null> | null = null;

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly keys: RedisKeys,
    private readonly polls: PollService,
    @Inject(REDIS_WORKER) private readonly connection: Redis,
  ) {}

  onApplicationBootstrap(): void {
    const processor = dispatchJobs(QueueName.Default, { [JobName.Poll]: (job: Job<PollJobData>) => this.polls.poll(job.data.pipelineId) }, this.logger);
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
