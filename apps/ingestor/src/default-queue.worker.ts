import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { QueueName } from '@dash/domain';
import { createWorker, DASH_CONFIG, REDIS_WORKER, RedisKeys, type DashConfig, type RedisClient } from '@dash/infra';
import type { Worker } from 'bullmq';
import { AlertRounds } from './alerts/alert-rounds';
import { PollService } from './poll/poll.service';

/**
 * The `default` queue's one worker in this process (BullMQ hands any job of a queue to any of its
 * workers): each capability brings its own jobs' handlers, polls (poll/) and alert rounds (alerts/).
 */
@Injectable()
export class DefaultQueueWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DefaultQueueWorker.name);
  private worker: Worker | null = null;

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly keys: RedisKeys,
    private readonly polls: PollService,
    private readonly alertRounds: AlertRounds,
    @Inject(REDIS_WORKER) private readonly connection: RedisClient,
  ) {}

  onApplicationBootstrap(): void {
    this.worker = createWorker(QueueName.Default, { ...this.polls.jobs, ...this.alertRounds.jobs }, {
      connection: this.connection,
      keys: this.keys,
      logger: this.logger,
      concurrency: this.config.queues.default,
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }
}
