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

/**
 * Events acknowledged (queued) and not yet committed, cluster-wide and per pipeline.
 * Web nodes add a job's share once it is queued; the ingestor releases it once committed.
 */
export class Backlog {
  private readonly jobsKey: string;
  private readonly totalsKey: string;
  private readonly rejectionsKey: string;

  constructor(private readonly redis: RedisClient, keys: RedisKeys) {
    this.jobsKey = `${keys.backlog}:jobs`;
    this.totalsKey = `${keys.backlog}:totals`;
    this.rejectionsKey = keys.backlogRejections;
  }

  /** Notes that a pipeline's sender was turned away (429) at `at`, for the `backlog_full` alert: a sorted set of pipeline → last time. */
  async noteRejection(pipelineId: string, at: number): Promise<void> {
    await this.redis.zadd(this.rejectionsKey, at, pipelineId);
  }

  async add(jobId: string, shares: Record<string, number>): Promise<void> {
    await this.scripts.dashBacklogAdd(this.jobsKey, this.totalsKey, jobId, JSON.stringify(shares));
  }

  async release(jobId: string): Promise<void> {
    await this.scripts.dashBacklogRelease(this.jobsKey, this.totalsKey, jobId);
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

  async totals(): Promise<BacklogTotals> {
    const raw = await this.redis.hgetall(this.totalsKey);
    const byPipeline = new Map<string, number>();
    let total = 0;
    let committed = 0;
    for (const [field, value] of Object.entries(raw)) {
      if (field === '*') total = Math.max(0, Number(value));
      else if (field === '#') committed = Number(value);
      else byPipeline.set(field, Number(value));
    }
    return { total, committed, byPipeline };
  }
}
