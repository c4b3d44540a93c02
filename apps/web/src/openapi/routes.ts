import { z } from 'zod';
import { ALERT_ROUTES } from '../alerts/alerts.api';
import { CLUSTER_ROUTES } from '../cluster/cluster.api';
import { FAILURE_ROUTES } from '../failures/failures.api';
import { PIPELINE_ROUTES } from '../pipelines/pipelines.api';
import { READING_ROUTES } from '../reading/reading.api';
import { REJECTION_ROUTES } from '../rejections/rejections.api';
import { SERIES_ROUTES } from '../series/series.api';
import { TOKEN_ROUTES } from '../tokens/tokens.api';
import { WEBHOOK_ROUTES } from '../webhooks/webhooks.api';
import type { RouteDoc } from './route-doc';

const OPENAPI_ROUTES: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This document (public: it holds no secret)',
    access: 'public',
    status: 200,
    response: z.record(z.string(), z.unknown()),
  },
];

/** Every documented route: a new controller's `*.api.ts` table is added here (a test checks none is missing). */
export const API_ROUTES: readonly RouteDoc[] = [
  ...PIPELINE_ROUTES,
  ...TOKEN_ROUTES,
  ...READING_ROUTES,
  ...SERIES_ROUTES,
  ...FAILURE_ROUTES,
  ...REJECTION_ROUTES,
  ...ALERT_ROUTES,
  ...CLUSTER_ROUTES,
  ...OPENAPI_ROUTES,
  ...WEBHOOK_ROUTES,
];
