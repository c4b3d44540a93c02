import { type PathFilter } from '@dash/domain';
import { z } from 'zod';
import { wholeNumberParam } from '../http/zod-validation';
import { whereParam } from '../reading/reading.schemas';
import { pathParam, timeParam } from './series.params';

const DAY_MS = 86_400_000;
/** The longest range one breakdown reads (the hourly rollup: 24 rows a day per value). */
const MAX_BREAKDOWN_DAYS = 400;

export interface BreakdownQuery {
  by: string;
  from: Date;
  to: Date;
  measure?: string;
  where?: PathFilter[];
  limit: number;
}

const breakdownQueryFields = z.object({
  by: pathParam().describe('a declared dimension, or `type`'),
  from: timeParam.optional().describe('ISO 8601 time; default 24 hours before `to`'),
  to: timeParam.optional().describe('default now'),
  measure: pathParam().optional().describe('a declared measure: each value then carries its count, sum, min, max and skipped'),
  where: whereParam().optional().describe('`<dimension>=<value>` filters on declared dimensions (repeatable, AND; `(none)` for missing): computed from the events themselves, the newest 200,000 at most (FILTERED_READ_MAX_EVENTS; past them the answer is partial)'),
  limit: wholeNumberParam(1, 100, 10).describe('values listed, largest first (default 10); the rest are `(other)`'),
});

/** `GET /api/pipelines/:id/breakdown`, validated by the route's ZodValidationPipe. Minutes count when they start in [from, to). */
export const breakdownQuerySchema = breakdownQueryFields.transform((fields, context): BreakdownQuery => {
  const to = fields.to ?? new Date();
  const from = fields.from ?? new Date(to.getTime() - DAY_MS);
  let problem: string | undefined;
  if (from.getTime() >= to.getTime()) problem = 'from must be before to';
  else if (to.getTime() - from.getTime() > MAX_BREAKDOWN_DAYS * DAY_MS) problem = `a breakdown covers at most ${MAX_BREAKDOWN_DAYS} days`;
  if (problem === undefined) return { by: fields.by, from, to, measure: fields.measure, where: fields.where, limit: fields.limit };
  context.issues.push({ code: 'custom', message: problem, input: fields });
  return z.NEVER;
});
