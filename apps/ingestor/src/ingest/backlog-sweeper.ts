import { Inject, Injectable, Logger } from '@nestjs/common';
import { QueueName } from '@dash/domain';
import { Backlog, REDIS_PRODUCER, RedisKeys } from '@dash/infra';
import type { RedisClient } from '@dash/infra';
import { Cluster } from 'ioredis';

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
  /** Each backlog (every partition's; before partitions, the un-tagged one) with the BullMQ key prefix of its jobs. */
  private readonly places: Array<{ jobsKey: string; jobKeyPrefix: string }>;
  private suspects = new Set<string>();

  constructor(
    @Inject(REDIS_PRODUCER) private readonly redis: RedisClient,
    keys: RedisKeys,
    private readonly backlog: Backlog,
  ) {
    this.places = Array.from({ length: keys.partitions }, (_, partition) => ({ jobsKey: keys.backlog(partition).jobs, jobKeyPrefix: `${keys.ingestBull(partition)}:${QueueName.Pipelines}:` }));
    if (!(redis instanceof Cluster)) this.places.push({ jobsKey: keys.legacyBacklog.jobs, jobKeyPrefix: `${keys.legacyBull}:${QueueName.Pipelines}:` });
  }

  /** One pass; returns how many orphaned counts were released. */
  async sweep(): Promise<number> {
    const orphans = new Set<string>();
    // One partition at a time: its keys share a slot, so its pipeline runs on one node of a cluster.
    for (const { jobsKey, jobKeyPrefix } of this.places) {
      const counted = await this.redis.hkeys(jobsKey);
      if (counted.length === 0) continue;
      const exists = await this.redis.pipeline(counted.map((id) => ['exists', jobKeyPrefix + id])).exec();
      for (const [i, id] of counted.entries()) if (exists?.[i]?.[1] === 0) orphans.add(id);
    }
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
