import { z } from 'zod';
import { textParam, wholeNumberParam } from '../http/zod-validation';

/** `GET /api/pipelines/:id/events`: validated by the route's pipe and documented by its route table. */
export const eventsQuerySchema = z.object({
  limit: wholeNumberParam(1, 500, 50).describe('events per page, 1 to 500 (default 50)'),
  before: textParam().optional().describe('the `next` cursor of the previous page'),
  type: textParam().optional().describe('only events of this type'),
  eventId: textParam().optional().describe('only events with this exact id'),
});

export type EventsQuery = z.output<typeof eventsQuerySchema>;
