import { z } from 'zod';
import { isoTime, type RouteDoc } from '../openapi/route-doc';
import { failuresQuerySchema } from './failures.schemas';

/** The failures routes (FailuresController), for the OpenAPI document. */
export const FAILURE_ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/pipelines/{id}/failures',
    operationId: 'listFailures',
    summary: 'Events the database refused, with the reason, newest first',
    access: 'reader',
    query: failuresQuerySchema,
    status: 200,
    response: z.object({
      items: z.array(
        z.object({
          id: z.string(),
          reason: z.string(),
          attempts: z.number().int(),
          failedAt: isoTime,
          event: z.object({ type: z.string().nullable(), occurredAt: isoTime, receivedAt: isoTime, payload: z.unknown() }).nullable(),
        }),
      ),
      total: z.number().int(),
      next: z.string().nullable().describe('pass as `before` for the next page; null at the end'),
    }),
  },
  {
    method: 'post',
    path: '/api/pipelines/{id}/failures/replay',
    operationId: 'replayFailures',
    summary: 'Try the failed events again: stored ones leave the list, refused ones stay',
    access: 'admin',
    status: 200,
    response: z.object({ replayed: z.number().int(), stored: z.number().int(), failed: z.number().int(), pending: z.number().int() }),
    errors: [404],
  },
  {
    method: 'delete',
    path: '/api/pipelines/{id}/failures/{failureId}',
    operationId: 'discardFailure',
    summary: 'Discard one failure for good (its `id`, the event id): it leaves the list and is never replayed',
    access: 'admin',
    status: 204,
    errors: [404],
  },
];
