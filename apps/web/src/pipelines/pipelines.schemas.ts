import { isValidPath, DashError } from '@dash/domain';
import { z } from 'zod';

const path = (allowEmpty: boolean) => z.string().refine((value) => isValidPath(value, allowEmpty), 'must be dot-separated keys, like data.object.id');

const pollSource = z.object({
  type: z.literal('poll'),
  url: z.string().url().refine((value) => /^https?:\/\//.test(value), 'must be an http or https URL').pipe(z.string().max(2000)),
  intervalSeconds: z.number().int().min(5).max(86_400),
  headers: z.record(z.string().max(100), z.string().max(4000)).optional(),
  itemsPath: path(true).optional(),
  cursor: z.object({ param: z.string().min(1).max(100), path: path(false) }).optional(),
});

export const sourceSchema = z.discriminatedUnion('type', [z.object({ type: z.literal('webhook') }), pollSource]);

const paths = {
  eventIdPath: path(false).optional(),
  eventTimePath: path(false).optional(),
  eventTypePath: path(false).optional(),
};

export const createPipelineSchema = z.object({ name: z.string().trim().min(1).max(200), source: sourceSchema, ...paths }).strict();
export const updatePipelineSchema = z.object({ name: z.string().trim().min(1).max(200).optional(), source: sourceSchema.optional(), ...paths }).strict();
export const createTokenSchema = z.object({ pipelines: z.array(z.string().uuid()).min(1).max(1000), label: z.string().trim().min(1).max(200).optional() }).strict();

export type CreatePipeline = z.infer<typeof createPipelineSchema>;
export type UpdatePipeline = z.infer<typeof updatePipelineSchema>;

/** Parses a request body or throws `400 invalid_request` naming the first problem. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new DashError(400, 'invalid_request', `${where}${issue?.message ?? 'invalid body'}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);
