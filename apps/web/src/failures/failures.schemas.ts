import { z } from 'zod';
import { textParam, wholeNumberParam } from '../http/zod-validation';

/** `GET /api/pipelines/:id/failures`: validated by the route's pipe and documented by its route table. */
export const failuresQuerySchema = z.object({
  limit: wholeNumberParam(1, 1000, 100).describe('failures listed, 1 to 1000 (default 100)'),
  before: textParam().optional().describe('the `next` cursor of the previous page'),
});

export type FailuresQuery = z.output<typeof failuresQuerySchema>;
