import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { QueueName } from '@dash/domain';
import { Backlog, REDIS, RedisKeys } from '@dash/infra';
import type { Redis } from 'ioredis';

const EVERY_MS = 30_000;
/** Well past any enqueue (5 s timeout) and any commit, so only a lost share is released. */
const MIN_AGE_MS = 120_000;

/** Keeps the backlog counters true: shares of jobs no longer in the queue are released. */
@Injectable()
export class BacklogJanitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BacklogJanitor.name);
  private readonly backlog: Backlog;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.backlog = new Backlog(redis, keys);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async sweep(minAgeMs = MIN_AGE_MS): Promise<number> {
    try {
      const jobKey = (jobId: string) => `${this.keys.bull}:${QueueName.Pipelines}:${jobId}`;
      const released = await this.backlog.reconcile(async (jobId) => (await this.redis.exists(jobKey(jobId))) === 1, minAgeMs);
      if (released > 0) this.logger.warn(`released the backlog shares of ${released} jobs no longer queued`);
      return released;
    } catch (error) {
      this.logger.warn(`backlog sweep: ${(error as Error).message}`);
      return 0;
    }
  }
}
