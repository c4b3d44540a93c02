import { Inject, Injectable, Logger } from '@nestjs/common';
import { QueueName } from '@dash/domain';
import { Backlog, REDIS_PRODUCER, RedisKeys } from '@dash/infra';
import type { RedisClient } from '@dash/infra';

/**
 * Repairs the backlog counter. A web node counts a job just before queueing it and takes the
 * count back if queueing fails; if Redis goes away between the two, the count stays with no job
 * behind it, and no ingestor would ever release it, so the pipeline would be refused (429) for
 * good. A count whose job is absent from the queue on two passes in a row (at least one
 * interval apart, far longer than an enqueue takes) is released here.
 */
@Injectable()
export class BacklogSweeper {
  private readonly logger = new Logger(BacklogSweeper.name);
  private readonly jobsKey: string;
  private readonly jobKeyPrefix: string;
  private suspects = new Set<string>();

  constructor(
    @Inject(REDIS_PRODUCER) private readonly redis: RedisClient,
    keys: RedisKeys,
    private readonly backlog: Backlog,
  ) {
    // The same hash Backlog keeps its per-job shares in, and BullMQ's key of a job.
    this.jobsKey = `${keys.backlog}:jobs`;
    this.jobKeyPrefix = `${keys.bull}:${QueueName.Pipelines}:`;
  }

  /** One pass; returns how many orphaned counts were released. */
  async sweep(): Promise<number> {
    const counted = await this.redis.hkeys(this.jobsKey);
    if (counted.length === 0) {
      this.suspects = new Set();
      return 0;
    }
    const exists = await this.redis.pipeline(counted.map((id) => ['exists', this.jobKeyPrefix + id])).exec();
    const orphans = new Set(counted.filter((_, i) => exists?.[i]?.[1] === 0));
    let released = 0;
    for (const id of orphans) {
      if (!this.suspects.has(id)) continue;
      await this.backlog.release(id);
      released++;
    }
    this.suspects = new Set([...orphans].filter((id) => !this.suspects.has(id)));
    if (released > 0) this.logger.warn(`released ${released} backlog counts with no queued job behind them`);
    return released;
  }
}
