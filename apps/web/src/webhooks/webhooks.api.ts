import { MAX_BATCH_EVENTS } from '@dash/domain';
import { z } from 'zod';
import type { RouteDoc } from '../openapi/route-doc';

const event = z.record(z.string(), z.unknown()).describe('one event: its id, time and type are read at the pipeline’s paths');

/** The intake route (WebhooksRoute, registered on Fastify directly), for the OpenAPI document. */
export const WEBHOOK_ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/webhooks/{pipelineId}',
    operationId: 'receiveWebhook',
    summary: 'Deliver events, signed per Standard Webhooks; 202 once they are durably queued',
    description:
      'The signature is `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{raw body}">` with the pipeline’s signing secret; several space-separated signatures are allowed. The `svix-id`, `svix-timestamp` and `svix-signature` headers are accepted in place of the `webhook-` ones.',
    access: 'signed',
    headers: z.object({
      'webhook-id': z.string().max(255).optional().describe('the message id (the event id of a single event); required unless svix-id is sent'),
      'webhook-timestamp': z.string().regex(/^\d+$/).optional().describe('seconds since the epoch; required unless svix-timestamp is sent'),
      'webhook-signature': z.string().optional().describe('v1,<base64 signature>; required unless svix-signature is sent'),
    }),
    bodyContent: {
      'application/json': z.union([event, z.array(event).min(1).max(MAX_BATCH_EVENTS)]),
      'application/x-ndjson': z.string().describe('one JSON object a line'),
    },
    status: 202,
    response: z.object({ accepted: z.number().int().describe('events in the request') }),
    errors: [400, 401, 404, 413, 415, 429, 503],
  },
];
