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

// Every partition's totals summed in Redis, read as one short reply (field, sum, field, sum, …): the
// gate reads them ten times a second on every node, and one command per partition allocated ten
// times what the rest of an idle web node does. One Redis or Sentinel only: on a cluster the keys
// are in different slots. A partition's `*` counts from 0 up, as one read by itself would.
const SUM_TOTALS = `
local sums, order = {}, {}
for _, key in ipairs(KEYS) do
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    local field, n = flat[i], tonumber(flat[i + 1])
    if field == '*' and n < 0 then n = 0 end
    if sums[field] then sums[field] = sums[field] + n else sums[field] = n; order[#order + 1] = field end
  end
end
local reply = {}
for _, field in ipairs(order) do reply[#reply + 1] = field; reply[#reply + 1] = sums[field] end
return reply`;

interface BacklogCommands {
  dashBacklogAdd(jobsKey: string, totalsKey: string, jobId: string, shares: string): Promise<number>;
  dashBacklogRelease(jobsKey: string, totalsKey: string, jobId: string): Promise<number>;
  /** Takes the number of keys, then the keys. */
  dashBacklogTotals(numberOfKeys: number, ...totalsKeys: string[]): Promise<Array<string | number>>;
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
      client.defineCommand('dashBacklogTotals', { lua: SUM_TOTALS });
    }
    return client as RedisClient & BacklogCommands;
  }

  /** Every partition's totals, summed: one script on one Redis, one command per partition on a cluster. */
  async totals(): Promise<BacklogTotals> {
    const fields: Array<[string, number]> = [];
    if (this.redis instanceof Cluster) {
      for (const raw of await Promise.all(this.totalsKeys.map((key) => this.redis.hgetall(key)))) {
        for (const [field, value] of Object.entries(raw)) fields.push([field, field === '*' ? Math.max(0, Number(value)) : Number(value)]);
      }
    } else {
      const flat = await this.scripts.dashBacklogTotals(this.totalsKeys.length, ...this.totalsKeys);
      for (let i = 0; i < flat.length; i += 2) fields.push([String(flat[i]), Number(flat[i + 1])]);
    }
    const byPipeline = new Map<string, number>();
    let total = 0;
    let committed = 0;
    for (const [field, n] of fields) {
      if (field === '*') total += n;
      else if (field === '#') committed += n;
      else byPipeline.set(field, (byPipeline.get(field) ?? 0) + n);
    }
    return { total, committed, byPipeline };
  }
}
