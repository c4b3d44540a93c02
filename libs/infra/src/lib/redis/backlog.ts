import { Cluster } from 'ioredis';
import type { RedisClient } from './redis';
import type { RedisKeys } from './keys';

// A job's events count once: HSETNX makes the add idempotent, HDEL makes the release idempotent,
// so a retried or twice-processed job never skews the totals.
const ADD = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local shares = cjson.decode(ARGV[2])
for pipeline, n in pairs(shares) do
  redis.call('HINCRBY', KEYS[2], pipeline, n)
  redis.call('HINCRBY', KEYS[2], '*', n)
end
return 1`;

const RELEASE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
for pipeline, n in pairs(cjson.decode(raw)) do
  if redis.call('HINCRBY', KEYS[2], pipeline, -n) <= 0 then redis.call('HDEL', KEYS[2], pipeline) end
  redis.call('HINCRBY', KEYS[2], '*', -n)
  redis.call('HINCRBY', KEYS[2], '#', n)
end
return 1`;

interface BacklogCommands {
  dashBacklogAdd(jobsKey: string, totalsKey: string, jobId: string, shares: string): Promise<number>;
  dashBacklogRelease(jobsKey: string, totalsKey: string, jobId: string): Promise<number>;
}

export interface BacklogTotals {
  total: number;
  /** Events released since the counter began: its rate of change is the drain rate. */
  committed: number;
  byPipeline: Map<string, number>;
}

const JOB_ID = /^p(\d+)-/;

/**
 * Events acknowledged (queued) and not yet committed, cluster-wide and per pipeline, kept per
 * ingest partition beside that partition's queue (same hash tag: same slot, same connection).
 * Web nodes add a job's share once it is queued; the ingestor releases it once committed.
 */
export class Backlog {
  private readonly rejectionsKey: string;
  /** Where totals are read: every partition, and the un-tagged backlog of before partitions where it can exist. */
  private readonly totalsKeys: string[];

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    this.rejectionsKey = keys.backlogRejections;
    this.totalsKeys = Array.from({ length: keys.partitions }, (_, partition) => keys.backlog(partition).totals);
    if (!(redis instanceof Cluster)) this.totalsKeys.push(keys.legacyBacklog.totals);
  }

  /** The id of a new ingest job of a partition: it names the partition, so its release finds the partition's keys. */
  static jobId(partition: number, unique: string): string {
    return `p${partition}-${unique}`;
  }

  /** The partition a job id names; null for a job queued before partitions. */
  static partitionOfJob(jobId: string): number | null {
    const match = JOB_ID.exec(jobId);
    return match ? Number(match[1]) : null;
  }

  /** The keys a job's share is kept in. */
  keysOf(jobId: string): { jobs: string; totals: string } {
    const partition = Backlog.partitionOfJob(jobId);
    return partition === null ? this.keys.legacyBacklog : this.keys.backlog(partition);
  }

  /** Notes that a pipeline's sender was turned away (429) at `at`, for the `backlog_full` alert: a sorted set of pipeline → last time. */
  async noteRejection(pipelineId: string, at: number): Promise<void> {
    await this.redis.zadd(this.rejectionsKey, at, pipelineId);
  }

  async add(jobId: string, shares: Record<string, number>): Promise<void> {
    const { jobs, totals } = this.keysOf(jobId);
    await this.scripts.dashBacklogAdd(jobs, totals, jobId, JSON.stringify(shares));
  }

  async release(jobId: string): Promise<void> {
    const { jobs, totals } = this.keysOf(jobId);
    await this.scripts.dashBacklogRelease(jobs, totals, jobId);
  }

  /** The scripts as commands of the client: sent by EVALSHA, the text only once per connection. */
  private get scripts(): BacklogCommands {
    const client = this.redis as RedisClient & Partial<BacklogCommands>;
    if (!client.dashBacklogAdd) {
      client.defineCommand('dashBacklogAdd', { numberOfKeys: 2, lua: ADD });
      client.defineCommand('dashBacklogRelease', { numberOfKeys: 2, lua: RELEASE });
    }
    return client as RedisClient & BacklogCommands;
  }

  /** Every partition's totals, summed: one round trip on one Redis (a pipeline), one command per partition on a cluster. */
  async totals(): Promise<BacklogTotals> {
    const raws =
      this.redis instanceof Cluster
        ? await Promise.all(this.totalsKeys.map((key) => this.redis.hgetall(key)))
        : ((await this.redis.pipeline(this.totalsKeys.map((key) => ['hgetall', key])).exec()) ?? []).map(([error, value]) => {
            if (error) throw error;
            return value as Record<string, string>;
          });
    const byPipeline = new Map<string, number>();
    let total = 0;
    let committed = 0;
    for (const raw of raws) {
      for (const [field, value] of Object.entries(raw)) {
        if (field === '*') total += Math.max(0, Number(value));
        else if (field === '#') committed += Number(value);
        else byPipeline.set(field, (byPipeline.get(field) ?? 0) + Number(value));
      }
    }
    return { total, committed, byPipeline };
  }
}
