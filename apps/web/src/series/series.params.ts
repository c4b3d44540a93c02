import { DashError, isValidPath, parseIsoTime, type PathFilter, type SeriesBucket } from '@dash/domain';
import { z } from 'zod';
import { parseWith, textParam, wholeNumberParam } from '../http/zod-validation';
import { whereParam } from '../reading/reading.schemas';

interface BucketSpec {
  ms: number;
  /** The PostgreSQL interval the rows are binned by. */
  interval: string;
  /** Range when `from` is not given. */
  defaultSpanMs: number;
  /** Largest range one request may ask for (bounds the zero-filled answer). */
  maxSpanMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const BUCKETS: Record<SeriesBucket, BucketSpec> = {
  '1m': { ms: MINUTE, interval: '1 minute', defaultSpanMs: HOUR, maxSpanMs: 2 * DAY },
  '5m': { ms: 5 * MINUTE, interval: '5 minutes', defaultSpanMs: DAY, maxSpanMs: 14 * DAY },
  '1h': { ms: HOUR, interval: '1 hour', defaultSpanMs: 7 * DAY, maxSpanMs: 120 * DAY },
  '1d': { ms: DAY, interval: '1 day', defaultSpanMs: 90 * DAY, maxSpanMs: 3660 * DAY },
};

export interface SeriesQuery {
  bucket: SeriesBucket;
  /** First bucket start (aligned down to the bucket, UTC). */
  from: Date;
  /** Exclusive end: buckets that start before it are answered. */
  to: Date;
  type?: string;
  /** A declared dimension (or `type`): one series per top value, plus `(other)`. */
  groupBy?: string;
  /** `sum:<path>` etc.: the measure whose sum, min and max the grouped points carry. */
  measure?: { aggregate: MeasureAggregate; path: string };
  /** With groupBy: top groups kept. */
  limit?: number;
  where?: PathFilter[];
}

export type MeasureAggregate = 'sum' | 'min' | 'max' | 'count';

/** Bucket starts are multiples of the bucket size since the Unix epoch (UTC), like date_bin and time_bucket. */
export const alignDown = (ms: number, bucketMs: number): number => Math.floor(ms / bucketMs) * bucketMs;

/** A dot path in a query string (`data.order.currency`). */
export const pathParam = () => textParam(200).refine((value) => isValidPath(value), 'must be dot-separated keys, like data.order.currency');

const ISO_MESSAGE = 'must be an ISO 8601 time, e.g. 2026-01-02T03:04:05Z';
export const timeParam = z
  .string({ error: ISO_MESSAGE })
  .refine((value) => parseIsoTime(value) !== undefined, ISO_MESSAGE)
  .transform((value) => new Date(parseIsoTime(value) as number));

/** The series query's fields, each checked alone (the route table documents these). */
export const seriesQueryFields = z.object({
  bucket: z.enum(['1m', '5m', '1h', '1d'], { error: 'must be one of 1m, 5m, 1h, 1d' }).default('1m').describe('default 1m'),
  from: timeParam.optional().describe('ISO 8601 time'),
  to: timeParam.optional().describe('default now'),
  type: textParam().optional().describe('only events of this type'),
  groupBy: pathParam().optional().describe('a declared dimension, or `type`: answers `groups`, one series per top value plus `(other)`, instead of `points`'),
  measure: textParam()
    .regex(/^(sum|min|max|count):/, 'must be <sum|min|max|count>:<path>, e.g. sum:data.order.total')
    .transform((value) => ({ aggregate: value.slice(0, value.indexOf(':')) as MeasureAggregate, path: value.slice(value.indexOf(':') + 1) }))
    .refine((measure) => isValidPath(measure.path), 'the path after the colon must be dot-separated keys')
    .optional()
    .describe('with groupBy: `sum:<path>` (or min, max, count) of a declared measure; each point then carries its sum, min and max'),
  limit: wholeNumberParam(1, 100, 10).describe('with groupBy: the top values kept by events counted over the range (default 10); the rest are `(other)`'),
  where: whereParam().optional().describe('with groupBy: `<dimension>=<value>` filters on declared dimensions (repeatable, AND): computed from the events themselves, the newest 200,000 at most (FILTERED_READ_MAX_EVENTS; past them the answer is partial)'),
});

/**
 * Defaults and the checks across fields. Defaults: 1m covers the last hour, 5m the last day,
 * 1h the last week, 1d the last 90 days; `to` defaults to now. A string is the problem found.
 */
function resolveRange(fields: z.output<typeof seriesQueryFields>, now: number): SeriesQuery | string {
  const { bucket, type, groupBy, measure, limit, where } = fields;
  if (groupBy === undefined && (measure !== undefined || where !== undefined)) return 'measure and where go with groupBy';
  if (groupBy !== undefined && type !== undefined) return 'type goes without groupBy (use where=type=<type>)';
  const spec = BUCKETS[bucket];
  const to = fields.to ?? new Date(now);
  const given = fields.from ?? new Date(to.getTime() - spec.defaultSpanMs);
  if (given.getTime() >= to.getTime()) return 'from must be before to';
  if (to.getTime() - given.getTime() > spec.maxSpanMs) {
    return `a ${bucket} series covers at most ${spec.maxSpanMs / DAY} days; use a larger bucket or a shorter range`;
  }
  return { bucket, from: new Date(alignDown(given.getTime(), spec.ms)), to, type, ...(groupBy === undefined ? {} : { groupBy, measure, limit, where }) };
}

/** `bucket`, `from`, `to` and `type` of `GET /api/pipelines/:id/series`, validated by the route's ZodValidationPipe. */
export const seriesQuerySchema = seriesQueryFields.transform((fields, context) => {
  const resolved = resolveRange(fields, Date.now());
  if (typeof resolved !== 'string') return resolved;
  context.issues.push({ code: 'custom', message: resolved, input: fields });
  return z.NEVER;
});

/** The same validation at a given time (`400 invalid_request` on a bad query). */
export function parseSeriesQuery(query: Record<string, unknown>, now = Date.now()): SeriesQuery {
  const resolved = resolveRange(parseWith(seriesQueryFields, query), now);
  if (typeof resolved === 'string') throw new DashError(400, 'invalid_request', resolved);
  return resolved;
}
