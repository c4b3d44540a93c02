import { z } from 'zod';
import { isoTime, type RouteDoc } from '../openapi/route-doc';

/** The series route (SeriesController), for the OpenAPI document. */
export const SERIES_ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/pipelines/{id}/series',
    operationId: 'getSeries',
    summary: 'Event counts per bucket, zero-filled, the newest minute included',
    access: 'reader',
    query: z.object({
      bucket: z.enum(['1m', '5m', '1h', '1d']).optional().describe('default 1m'),
      from: isoTime.optional(),
      to: isoTime.optional().describe('default now'),
      type: z.string().optional().describe('only events of this type'),
    }),
    status: 200,
    response: z.object({ bucket: z.enum(['1m', '5m', '1h', '1d']), from: isoTime, to: isoTime, points: z.array(z.object({ t: isoTime, count: z.number().int() })) }),
  },
];
