import { z } from 'zod';
import { errorSchema, type RouteDoc } from './route-doc';

type JsonSchema = Record<string, unknown>;

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) of what a client sends or receives. */
function schemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  400: 'The request is not valid (`invalid_request`, `invalid_json`, `invalid_event`)',
  401: 'No valid token or signature',
  403: 'The token may not do this',
  404: 'Not found',
  413: 'The body is too large (`payload_too_large`)',
  415: 'Unsupported content type (`unsupported_media_type`)',
  429: 'Too many events waiting (`backlog_full`), or too many reads by this token or failed authentications from this address (`rate_limited`), with `Retry-After`',
  503: 'A dependency is unavailable or a read ran too long (`unavailable`), with `Retry-After`',
};

const COMMON_ERRORS: Record<RouteDoc['access'], number[]> = {
  // Every /api route may answer 429 (rate limits) and 503 (a read past READ_TIMEOUT_MS, Redis away).
  admin: [400, 401, 403, 429, 503],
  reader: [400, 401, 403, 404, 429, 503],
  public: [],
  signed: [],
};

function operation(route: RouteDoc): JsonSchema {
  const parameters: JsonSchema[] = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
  const query = route.query instanceof z.ZodPipe ? route.query.in : route.query;
  for (const [where, object] of [['query', query], ['header', route.headers]] as const) {
    for (const [name, field] of Object.entries(object?.shape ?? {})) {
      const schema = field as z.ZodType;
      parameters.push({ name, in: where, required: !schema.safeParse(undefined).success, schema: schemaOf(schema), ...(schema.description ? { description: schema.description } : {}) });
    }
  }
  const content = route.bodyContent ?? (route.body ? { 'application/json': route.body } : undefined);
  const responses: Record<string, JsonSchema> = {
    [route.status]: { description: STATUS_TEXT[route.status] ?? 'OK', ...(route.response ? { content: { 'application/json': { schema: schemaOf(route.response) } } } : {}) },
  };
  for (const status of new Set([...COMMON_ERRORS[route.access], ...(route.errors ?? [])])) {
    responses[status] = { description: STATUS_TEXT[status] ?? 'Error', content: { 'application/json': { schema: ERROR_REF } } };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.path.startsWith('/webhooks') ? 'intake' : (route.path.split('/')[2] ?? 'api')],
    ...(route.access === 'public' || route.access === 'signed' ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(content ? { requestBody: { required: true, content: Object.fromEntries(Object.entries(content).map(([type, schema]) => [type, { schema: schemaOf(schema) }])) } } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the given routes. */
export function buildOpenApi(routes: readonly RouteDoc[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) (paths[route.path] ??= {})[route.method] = operation(route);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Dash',
      version,
      description:
        'Streams of events in, live dashboards out. Every `/api` route takes `Authorization: Bearer <token>`: the admin token may do everything; a viewer token reads only the pipelines it names. Errors are `{"error": "<code>", "message": "<text>"}`.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the admin token, or a viewer token (`dash_vt_…`)' } },
      schemas: { Error: schemaOf(errorSchema) },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
