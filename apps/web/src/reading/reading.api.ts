import { z } from 'zod';
import { pipelineStatsSchema, storedEventSchema, type RouteDoc } from '../openapi/route-doc';
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
];
