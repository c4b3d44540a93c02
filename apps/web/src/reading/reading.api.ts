import { z } from 'zod';
import { intQuery, pipelineStatsSchema, storedEventSchema, type RouteDoc } from '../openapi/route-doc';

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
    description: 'Page on with `before` set to the `next` of the previous page. `eventId` finds the events stored under one exact id (usually one).',
    access: 'reader',
    query: z.object({
      limit: intQuery(1, 500).optional().describe('events per page, 1 to 500 (default 50)'),
      before: z.string().optional().describe('the `next` cursor of the previous page'),
      type: z.string().optional().describe('only events of this type'),
      eventId: z.string().optional().describe('only events with this exact id'),
    }),
    status: 200,
    response: z.object({ items: z.array(storedEventSchema), next: z.string().nullable() }),
  },
];
