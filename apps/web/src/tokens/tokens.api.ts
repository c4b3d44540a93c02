import { z } from 'zod';
import { isoTime, type RouteDoc } from '../openapi/route-doc';
import { createTokenSchema } from '../pipelines/pipelines.schemas';

export const tokenInfoSchema = z.object({
  id: z.string(),
  label: z.string().nullable(),
  pipelines: z.array(z.string()),
  createdAt: isoTime,
  lastUsedAt: isoTime.nullable().describe('updated at most once a minute'),
});

/** The viewer token routes (TokensController), for the OpenAPI document. */
export const TOKEN_ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/tokens',
    operationId: 'createToken',
    summary: 'A viewer token for some pipelines (shown once, stored as a hash)',
    access: 'admin',
    body: createTokenSchema,
    status: 201,
    response: tokenInfoSchema.omit({ lastUsedAt: true }).extend({ token: z.string().describe('dash_vt_…, shown only here') }),
  },
  {
    method: 'get',
    path: '/api/tokens',
    operationId: 'listTokens',
    summary: 'Viewer tokens (never the token itself), newest first',
    access: 'admin',
    status: 200,
    response: z.object({ items: z.array(tokenInfoSchema) }),
  },
  {
    method: 'delete',
    path: '/api/tokens/{id}',
    operationId: 'revokeToken',
    summary: 'Revoke a viewer token: refused at once on every node, its sockets disconnected within 5 seconds',
    access: 'admin',
    status: 204,
    errors: [404],
  },
];
