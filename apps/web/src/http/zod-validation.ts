import { Body, Query, type PipeTransform } from '@nestjs/common';
import { DashError } from '@dash/domain';
import { z } from 'zod';

/** Parses `value` with `schema`, or throws `400 invalid_request` naming the first problem. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new DashError(400, 'invalid_request', `${where}${issue?.message ?? 'invalid request'}`);
}

/**
 * The one place request shapes are validated: a query string or a JSON body against the zod
 * schema its route table (`*.api.ts`) documents, so the OpenAPI document cannot drift.
 */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(readonly schema: S) {}

  transform(value: unknown): z.output<S> {
    // A request without a body (or a query string) is validated as an empty object.
    return parseWith(this.schema, value ?? {});
  }
}

/** The JSON body, validated by `schema` (`400 invalid_request` otherwise). */
export const ZodBody = (schema: z.ZodType): ParameterDecorator => Body(new ZodValidationPipe(schema));

/** The query string, validated by `schema` (`400 invalid_request` otherwise). */
export const ZodQuery = (schema: z.ZodType): ParameterDecorator => Query(new ZodValidationPipe(schema));

/**
 * A whole number from `min` to `max` in a query string (where every value is text), `fallback`
 * when absent. At most 4 digits, like the limits it serves, so no huge number is ever parsed.
 */
export function wholeNumberParam(min: number, max: number, fallback: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z
    .string({ error: message })
    .regex(/^\d{1,4}$/, message)
    .transform(Number)
    .pipe(z.number().min(min, message).max(max, message))
    .default(fallback);
}

/** A non-empty text value in a query string (a repeated parameter, which arrives as a list, is refused). */
export const textParam = (max = 500) =>
  z
    .string({ error: 'must be a non-empty string' })
    .min(1, 'must be a non-empty string')
    .max(max, `must be at most ${max} characters`)
    // A NUL byte is text PostgreSQL refuses (a 500 otherwise).
    .refine((value) => !value.includes('\u0000'), 'must not contain a NUL byte');

/** Control characters (C0, DEL, C1) and the Unicode line and paragraph separators. */
const CONTROL_CHARACTER = /[\p{Cc}\u2028\u2029]/u;

/**
 * A name a person gives (pipeline, alert, token label): 1 to 200 characters once trimmed, no control
 * character. A CR/LF in a name would come out as a forged line in an alert e-mail's body.
 */
export const nameSchema = z
  .string()
  // Before trimming: a trailing line break is refused too, not silently cut.
  .refine((value) => !CONTROL_CHARACTER.test(value), 'must not contain control characters (line breaks, tabs, NUL, …)')
  .trim()
  .min(1)
  .max(200);
