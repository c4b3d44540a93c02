import { z } from 'zod';
import { isoTime, type RouteDoc } from '../openapi/route-doc';
import { createPipelineSchema, sourceSchema, updatePipelineSchema } from './pipelines.schemas';

export const lastPollSchema = z.object({
  at: isoTime,
  status: z.enum(['ok', 'error']),
  items: z.number().int(),
  error: z.string().nullable(),
  cursor: z.string().nullable().optional(),
});

export const pipelineViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  source: sourceSchema,
  eventIdPath: z.string(),
  eventTimePath: z.string(),
  eventTypePath: z.string(),
  dimensions: z.array(z.string()).describe('declared payload paths to break down by; the event type always is one besides these'),
  measures: z.array(z.string()).describe('declared numeric payload paths whose count, sum, min and max are kept'),
  backfill: z
    .object({
      state: z.enum(['running', 'done']),
      dimensions: z.array(z.string()),
      measures: z.array(z.string()),
      done: z.number().int(),
      total: z.number().int(),
      startedAt: isoTime,
      finishedAt: isoTime.nullable(),
    })
    .nullable()
    .optional()
    .describe('on GET /api/pipelines/{id}: the background computation of dimensions and measures declared after events were stored (running ones, else the last)'),
  webhookPath: z.string(),
  createdAt: isoTime,
  updatedAt: isoTime,
  count: z.number().int(),
  lastEventAt: isoTime.nullable(),
  lastPoll: lastPollSchema.nullable(),
});

/** The pipelines routes (PipelinesController), for the OpenAPI document. */
export const PIPELINE_ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/pipelines',
    operationId: 'createPipeline',
    summary: 'Create a pipeline; the answer holds its signing secret (shown here and on rotation only)',
    access: 'admin',
    body: createPipelineSchema,
    status: 201,
    response: pipelineViewSchema.extend({ signingSecret: z.string().describe('whsec_…') }),
  },
  {
    method: 'get',
    path: '/api/pipelines',
    operationId: 'listPipelines',
    summary: 'The pipelines this token may read, with their count and last event time',
    access: 'reader',
    status: 200,
    response: z.object({ items: z.array(pipelineViewSchema) }),
  },
  { method: 'get', path: '/api/pipelines/{id}', operationId: 'getPipeline', summary: 'One pipeline', access: 'reader', status: 200, response: pipelineViewSchema },
  {
    method: 'patch',
    path: '/api/pipelines/{id}',
    operationId: 'updatePipeline',
    summary: 'Change a pipeline',
    access: 'admin',
    body: updatePipelineSchema,
    status: 200,
    response: pipelineViewSchema,
    errors: [404],
  },
  { method: 'delete', path: '/api/pipelines/{id}', operationId: 'deletePipeline', summary: 'Delete a pipeline and its events', access: 'admin', status: 204, errors: [404] },
  {
    method: 'post',
    path: '/api/pipelines/{id}/rotate-secret',
    operationId: 'rotateSecret',
    summary: 'A new signing secret; the previous one keeps verifying for 24 hours',
    access: 'admin',
    status: 200,
    response: z.object({ signingSecret: z.string(), previousSecretExpiresAt: isoTime }),
    errors: [404],
  },
  {
    method: 'post',
    path: '/api/pipelines/{id}/poll',
    operationId: 'pollNow',
    summary: "Runs a poll source once, now, and answers its outcome",
    access: 'admin',
    status: 200,
    response: lastPollSchema,
    errors: [404, 503],
  },
];
