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
  /** Each key of the object is one query parameter. */
  query?: z.ZodObject;
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
  payload: z.unknown(),
});

export const pipelineStatsSchema = z.object({
  pipelineId: z.string(),
  count: z.number().int(),
  lastEvent: storedEventSchema.nullable(),
  lastEventAt: isoTime.nullable(),
  version: z.number().int(),
});

/** A query parameter holding a whole number (query strings are text; the bounds are what is accepted). */
export const intQuery = (min: number, max: number) => z.string().regex(/^\d+$/).describe(`a whole number from ${min} to ${max}`);
