import { isValidPath } from '@dash/domain';
import { isAllowedHeaderName } from '@dash/infra';
import { z } from 'zod';

const path = (allowEmpty: boolean) => z.string().refine((value) => isValidPath(value, allowEmpty), 'must be dot-separated keys, like data.object.id');

const pollSource = z.object({
  type: z.literal('poll'),
  url: z.string().url().refine((value) => /^https?:\/\//.test(value), 'must be an http or https URL').pipe(z.string().max(2000)),
  intervalSeconds: z.number().int().min(5).max(86_400),
  headers: z
    .record(
      z.string().max(100),
      z.string().max(4000).refine((value) => !/[\r\n\0]/.test(value), 'must not contain line breaks'),
    )
    .superRefine((headers, context) => {
      const refused = Object.keys(headers).find((name) => !isAllowedHeaderName(name));
      if (refused !== undefined) context.addIssue({ code: 'custom', message: `the header ${JSON.stringify(refused)} cannot be set (allowed: Authorization, Accept, Content-Type, User-Agent, Cookie, X-…)` });
      if (Object.keys(headers).length > 50) context.addIssue({ code: 'custom', message: 'at most 50 headers' });
    })
    .optional(),
  itemsPath: path(true).optional(),
  cursor: z.object({ param: z.string().min(1).max(100), path: path(false) }).optional(),
});

export const sourceSchema = z.discriminatedUnion('type', [z.object({ type: z.literal('webhook') }), pollSource]);

const paths = {
  eventIdPath: path(false).optional(),
  eventTimePath: path(false).optional(),
  eventTypePath: path(false).optional(),
};

/** At most this many declared dimensions, and as many measures, per pipeline. */
export const MAX_DIMENSIONS = 8;

const pathList = (what: string) =>
  z
    .array(path(false))
    .max(MAX_DIMENSIONS, `at most ${MAX_DIMENSIONS} ${what}`)
    .refine((list) => new Set(list).size === list.length, `the same path twice in ${what}`);

export const createPipelineSchema = z.object({ name: z.string().trim().min(1).max(200), source: sourceSchema, ...paths }).strict();
export const updatePipelineSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    source: sourceSchema.optional(),
    ...paths,
    // `type` is always a dimension: listed or not, it is one (and not counted in the 8).
    dimensions: pathList('dimensions')
      .transform((list) => list.filter((dimension) => dimension !== 'type'))
      .optional()
      .describe('payload paths to break down by (the event type always is one); at most 8'),
    measures: pathList('measures').optional().describe('numeric payload paths whose count, sum, min and max are kept; at most 8'),
  })
  .strict();
export const createTokenSchema = z.object({ pipelines: z.array(z.string().uuid()).min(1).max(1000), label: z.string().trim().min(1).max(200).optional() }).strict();

export type CreatePipeline = z.infer<typeof createPipelineSchema>;
export type UpdatePipeline = z.infer<typeof updatePipelineSchema>;
export type CreateToken = z.infer<typeof createTokenSchema>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);
