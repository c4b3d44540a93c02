import { z } from 'zod';

/** Who may call a route: the admin token, any token that may read the pipeline, anyone, or a signed sender. */
export type RouteAccess = 'admin' | 'reader' | 'public' | 'signed';

/**
 * One route as the OpenAPI document describes it. Each feature keeps its table in a `*.api.ts`
 * beside its controller, built from the zod schemas the controller validates with; a test checks
 * that the tables and the routes Nest registered are the same set.
 */
export interface RouteDoc {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** OpenAPI form: `/api/pipelines/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  access: RouteAccess;
  /** Each key of the object is one query parameter: the very schema the route's ZodValidationPipe parses with (checks across keys may follow it). */
  query?: z.ZodObject | z.ZodPipe<z.ZodObject, z.ZodType>;
  /** Each key of the object is one request header. */
  headers?: z.ZodObject;
  /** A JSON body; `bodyContent` instead where several media types are taken. */
  body?: z.ZodType;
  bodyContent?: Record<string, z.ZodType>;
  /** The success answer: its status, and its body's schema (none for 204). */
  status: number;
  response?: z.ZodType;
  /** Error statuses besides those every route of its access level may answer. */
  errors?: number[];
}

export const errorSchema = z.object({ error: z.string().describe('a stable code, e.g. invalid_request'), message: z.string() });

export const isoTime = z.string().describe('ISO 8601 time');

export const storedEventSchema = z.object({
  id: z.string(),
  type: z.string().nullable(),
  occurredAt: isoTime,
  receivedAt: isoTime,
  payload: z.unknown().describe('null with payloadTruncated in stats, acks and live updates when over 16 KiB'),
  payloadTruncated: z.boolean().optional(),
  payloadBytes: z.number().int().optional(),
});

export const pipelineStatsSchema = z.object({
  pipelineId: z.string(),
  count: z.number().int(),
  lastEvent: storedEventSchema.nullable(),
  lastEventAt: isoTime.nullable(),
  version: z.number().int(),
});
