import { z } from 'zod';
import { isoTime, pipelineStatsSchema, storedEventSchema, type RouteDoc } from '../openapi/route-doc';
import { eventsQuerySchema } from './reading.schemas';

/** The reading routes (ReadingController), for the OpenAPI document. */
export const READING_ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/pipelines/{id}/stats',
    operationId: 'getStats',
    summary: 'The exact count and the last event',
    access: 'reader',
    status: 200,
    response: pipelineStatsSchema,
  },
  {
    method: 'get',
    path: '/api/pipelines/{id}/events',
    operationId: 'listEvents',
    summary: 'Stored events, newest first (by event time), a page at a time',
    description:
      'Page on with `before` set to the `next` of the previous page. `eventId` finds the events stored under one exact id (usually one); `type` and `where` filter. A filtered request does bounded work: it examines at most 10 000 events (and 64 MiB of payloads), newest first from `before`; when it stops there before filling the page it answers the matches found so far with `partial: true` and a `next` that resumes the search.',
    access: 'reader',
    query: eventsQuerySchema,
    status: 200,
    response: z.object({
      items: z.array(storedEventSchema),
      next: z.string().nullable(),
      partial: z.boolean().describe('the search stopped at its work bound: follow `next` to look further back'),
    }),
  },
  {
    method: 'get',
    path: '/api/pipelines/{id}/fields',
    operationId: 'listFields',
    summary: 'The field catalog: payload paths seen in sampled events',
    description:
      'Learned by the ingestor from a sample of the events stored (a pipeline’s first 20 events on each ingestor, then one a second), to choose dimensions and measures. At most 500 paths a pipeline (shallow first), objects followed 8 levels deep, arrays listed but not entered; `share` is the fraction of sampled events that carried the path; `examples` are up to 5 distinct values (strings cut at 100 characters).',
    access: 'reader',
    status: 200,
    response: z.object({
      items: z.array(
        z.object({
          path: z.string(),
          types: z.array(z.enum(['string', 'number', 'boolean', 'null', 'object', 'array'])),
          share: z.number().min(0).max(1),
          examples: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])),
          firstSeenAt: isoTime,
          lastSeenAt: isoTime,
        }),
      ),
    }),
  },
];
