import { z } from 'zod';
import { isoTime, type RouteDoc } from '../openapi/route-doc';

export const rejectionSchema = z.object({
  at: isoTime,
  status: z.number().int(),
  error: z.string().describe('the error code the sender got, e.g. invalid_signature'),
  message: z.string().describe('the message the sender got with it (at most 300 characters; empty for entries recorded before messages were kept)'),
  webhookId: z.string().nullable(),
  contentLength: z.number().int().nullable(),
});

/** The rejections route (RejectionsController), for the OpenAPI document. */
export const REJECTION_ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/pipelines/{id}/rejections',
    operationId: 'listRejections',
    summary: 'The last 100 deliveries refused with a 4xx, newest first (never the body)',
    access: 'reader',
    status: 200,
    response: z.object({ items: z.array(rejectionSchema) }),
  },
];
