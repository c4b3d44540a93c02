import { DashError } from '@dash/domain';

export type SeriesBucket = '1m' | '5m' | '1h' | '1d';

interface BucketSpec {
  ms: number;
  /** The PostgreSQL interval the rows are binned by. */
  interval: string;
  /** Which rollup to read: minutes for 1m/5m, hours for 1h/1d. */
  source: 'event_counts_1m' | 'event_counts_1h';
  /** Range when `from` is not given. */
  defaultSpanMs: number;
  /** Largest range one request may ask for (bounds the zero-filled answer). */
  maxSpanMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const BUCKETS: Record<SeriesBucket, BucketSpec> = {
  '1m': { ms: MINUTE, interval: '1 minute', source: 'event_counts_1m', defaultSpanMs: HOUR, maxSpanMs: 2 * DAY },
  '5m': { ms: 5 * MINUTE, interval: '5 minutes', source: 'event_counts_1m', defaultSpanMs: DAY, maxSpanMs: 14 * DAY },
  '1h': { ms: HOUR, interval: '1 hour', source: 'event_counts_1h', defaultSpanMs: 7 * DAY, maxSpanMs: 120 * DAY },
  '1d': { ms: DAY, interval: '1 day', source: 'event_counts_1h', defaultSpanMs: 90 * DAY, maxSpanMs: 3660 * DAY },
};

export interface SeriesQuery {
  bucket: SeriesBucket;
  /** First bucket start (aligned down to the bucket, UTC). */
  from: Date;
  /** Exclusive end: buckets that start before it are answered. */
  to: Date;
  type?: string;
}

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function timeOf(value: unknown, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' && ISO.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new DashError(400, 'invalid_request', `${name} must be an ISO 8601 time, e.g. 2026-01-02T03:04:05Z`);
  return new Date(ms);
}

/** Bucket starts are multiples of the bucket size since the Unix epoch (UTC), like date_bin and time_bucket. */
export const alignDown = (ms: number, bucketMs: number): number => Math.floor(ms / bucketMs) * bucketMs;

/**
 * Validates `bucket`, `from`, `to` and `type`. Defaults: 1m covers the last hour, 5m the
 * last day, 1h the last week, 1d the last 90 days; `to` defaults to now.
 */
export function parseSeriesQuery(query: Record<string, unknown>, now = Date.now()): SeriesQuery {
  const bucketValue = query.bucket ?? '1m';
  if (typeof bucketValue !== 'string' || !(bucketValue in BUCKETS)) throw new DashError(400, 'invalid_request', 'bucket must be one of 1m, 5m, 1h, 1d');
  const bucket = bucketValue as SeriesBucket;
  const spec = BUCKETS[bucket];
  const to = timeOf(query.to, 'to') ?? new Date(now);
  const given = timeOf(query.from, 'from') ?? new Date(to.getTime() - spec.defaultSpanMs);
  if (given.getTime() >= to.getTime()) throw new DashError(400, 'invalid_request', 'from must be before to');
  if (to.getTime() - given.getTime() > spec.maxSpanMs) {
    throw new DashError(400, 'invalid_request', `a ${bucket} series covers at most ${spec.maxSpanMs / DAY} days; use a larger bucket or a shorter range`);
  }
  const type = query.type;
  if (type !== undefined && (typeof type !== 'string' || type.length === 0 || type.length > 500)) throw new DashError(400, 'invalid_request', 'type must be a non-empty string');
  return { bucket, from: new Date(alignDown(given.getTime(), spec.ms)), to, type };
}
