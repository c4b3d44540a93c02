import { MAX_PATH_FILTERS, parsePathFilter, type PathFilter } from '@dash/domain';
import { z } from 'zod';
import { textParam, wholeNumberParam } from '../http/zod-validation';

/** `where=<path>=<value>`, repeatable (AND): a list of path filters, each path a dot path as in eventIdPath. */
export const whereParam = () =>
  z
    .union([textParam(), z.array(textParam()).max(MAX_PATH_FILTERS, `at most ${MAX_PATH_FILTERS} where filters`)])
    .transform((value, context): PathFilter[] => {
      const filters: PathFilter[] = [];
      for (const text of Array.isArray(value) ? value : [value]) {
        const filter = parsePathFilter(text);
        if (filter === null) {
          context.addIssue({ code: 'custom', message: `${JSON.stringify(text.slice(0, 100))} is not <path>=<value> with a dot path (keys joined by dots)` });
          return z.NEVER;
        }
        filters.push(filter);
      }
      return filters;
    });

/** `GET /api/pipelines/:id/events`: validated by the route's pipe and documented by its route table. */
export const eventsQuerySchema = z.object({
  limit: wholeNumberParam(1, 500, 50).describe('events per page, 1 to 500 (default 50)'),
  before: textParam().optional().describe('the `next` cursor of the previous page'),
  type: textParam().optional().describe('only events of this type'),
  eventId: textParam().optional().describe('only events with this exact id'),
  where: whereParam()
    .optional()
    .describe(
      `only events whose payload holds the value at the path: \`where=data.customer=cus_1\` (repeatable, at most ${MAX_PATH_FILTERS}, AND). The value matches the JSON string, and also the number, boolean or null it spells (\`42\` matches \`"42"\` and \`42\`); numeric keys index arrays (\`items.0.sku\`)`,
    ),
});

export type EventsQuery = z.output<typeof eventsQuerySchema>;
