import { z } from 'zod';
import { isoTime, type RouteDoc } from '../openapi/route-doc';

/** The cluster route (ClusterController), for the OpenAPI document. */
export const CLUSTER_ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/cluster',
    operationId: 'listNodes',
    summary: 'Every live web and ingestor node, from their heartbeats',
    access: 'admin',
    status: 200,
    response: z.object({
      nodes: z.array(
        z.object({
          id: z.string(),
          role: z.enum(['web', 'ingestor']),
          region: z.string(),
          startedAt: isoTime,
          lastSeenAt: isoTime,
          rssBytes: z.number(),
          cpu: z.number(),
          sockets: z.number().int().optional(),
          queues: z.record(z.string(), z.number()).optional(),
          bufferBacklog: z.number().optional(),
        }),
      ),
    }),
  },
];
