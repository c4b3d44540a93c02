import { z } from 'zod';
import { isoTime, type RouteDoc } from '../openapi/route-doc';
import { breakdownQuerySchema } from './breakdown.params';
import { seriesQuerySchema } from './series.params';

const bucketSchema = z.enum(['1m', '5m', '1h', '1d']);

/** A read filtered by `where` over more stored events than its bound covers only the newest. */
const coverage = {
  partial: z.boolean().describe('the read was filtered by `where` and the range holds more stored events than FILTERED_READ_MAX_EVENTS (200,000 by default): it covers only the newest, from `coveredFrom`'),
  coveredFrom: isoTime.optional().describe('with `partial`: the start of what was read, a whole bucket (breakdown: a whole minute); narrow from and to for the rest'),
};

/** The series and breakdown routes (SeriesController), for the OpenAPI document. */
export const SERIES_ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/pipelines/{id}/series',
    operationId: 'getSeries',
    summary: 'Event counts per bucket, zero-filled, the newest minute included',
    access: 'reader',
    query: seriesQuerySchema,
    status: 200,
    description:
      'Without `groupBy`: `points`, the events counted per bucket. With `groupBy` (a declared dimension, or `type`): `groups`, one zero-filled series per top value (by events counted over the range, at most `limit`), then `(other)` for the rest; with `measure`, each point also carries the measure\'s sum, min and max (null where no number was found). With `where`, the groups are computed from the stored events themselves, newest first and at most FILTERED_READ_MAX_EVENTS of them: past those the answer is `partial`, its points from `coveredFrom`.',
    response: z.union([
      z.object({ bucket: bucketSchema, from: isoTime, to: isoTime, points: z.array(z.object({ t: isoTime, count: z.number().int() })) }),
      z.object({
        bucket: bucketSchema,
        from: isoTime,
        to: isoTime,
        groupBy: z.string(),
        groups: z.array(
          z.object({
            value: z.string(),
            points: z.array(z.object({ t: isoTime, count: z.number().int(), sum: z.number().nullable().optional(), min: z.number().nullable().optional(), max: z.number().nullable().optional() })),
          }),
        ),
        ...coverage,
      }),
    ]),
  },
  {
    method: 'get',
    path: '/api/pipelines/{id}/breakdown',
    operationId: 'getBreakdown',
    summary: 'Events by the values of one dimension, largest first, with a measure',
    description:
      'From the rollups the writer keeps by dimension: exact, the newest minute included. A minute counts when it starts in [from, to). A value is the text at the dimension\'s path (at most 200 characters); `(none)` where the path is missing or null; `(other)` holds the values past 1,000 distinct ones in an hour and those past `limit`. `share` is count over total. With `where`, computed from the stored events themselves (values uncapped), newest first and at most FILTERED_READ_MAX_EVENTS of them: past those the answer is `partial` and covers [coveredFrom, to). A web node runs two filtered reads at once and queues 16: past them, `503 unavailable` with Retry-After; a client address with 4 in flight gets `429 rate_limited`.',
    access: 'reader',
    query: breakdownQuerySchema,
    status: 200,
    response: z.object({
      by: z.string(),
      from: isoTime,
      to: isoTime,
      total: z.number().int(),
      items: z.array(
        z.object({
          value: z.string(),
          count: z.number().int(),
          share: z.number().min(0).max(1),
          measure: z.object({ count: z.number().int(), sum: z.number().nullable(), min: z.number().nullable(), max: z.number().nullable(), skipped: z.number().int() }).optional(),
        }),
      ),
      ...coverage,
    }),
  },
];
