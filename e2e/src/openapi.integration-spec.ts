import type { INestMicroservice } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import { createWebApp } from '../../apps/web/src/app';
import { API_ROUTES } from '../../apps/web/src/openapi/routes';
import { validateOpenApi } from './support/openapi-validator';
import { Api, sendWebhook, startIngestor, testEnv, waitFor, type CreatedPipeline } from './support/harness';

/** `GET /api/openapi.json`, generated from the route tables beside the controllers, and the events search. */
describe('OpenAPI document and event search', () => {
  const env = testEnv('openapi');
  let ingestor: INestMicroservice;
  let close: () => Promise<void>;
  let url: string;
  let api: Api;
  /** What Fastify registered, as `METHOD /path/{param}`. */
  const registered = new Set<string>();
  let pipeline: CreatedPipeline;

  beforeAll(async () => {
    ingestor = await startIngestor(env.config('ingestor'));
    const app = await createWebApp(env.config('web'), { logger: ['error'] });
    (app.getHttpAdapter().getInstance() as FastifyInstance).addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        if (method !== 'HEAD' && /^\/(api|webhooks)\//.test(route.url)) registered.add(`${method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
      }
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as { port: number }).port}`;
    close = async () => {
      (app.getHttpServer() as Server).closeAllConnections();
      await app.close();
    };
    api = new Api(url);
    pipeline = await api.createPipeline({ name: 'documented' });
  });

  afterAll(async () => {
    await close?.();
    await ingestor?.close();
    await env.cleanup();
  });

  it('serves a valid OpenAPI 3.1 document, without a token', async () => {
    const response = await fetch(`${url}/api/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const document = (await response.json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> };
    expect(document.openapi).toBe('3.1.0');
    const result = await validateOpenApi(document);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    // Request bodies come from the zod schemas the controllers validate with.
    expect(JSON.stringify(document.paths['/api/pipelines'].post.requestBody)).toContain('eventTypePath');
    expect(JSON.stringify(document.paths['/api/tokens'].post.requestBody)).toContain('label');
  });

  it('documents every route registered under /api and /webhooks, and no other', async () => {
    const document = (await (await fetch(`${url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)));
    expect(registered.size).toBeGreaterThan(10);
    expect(registered).toContain('POST /webhooks/{pipelineId}');
    expect([...registered].filter((route) => !documented.has(route))).toEqual([]);
    expect([...documented].filter((route) => !registered.has(route))).toEqual([]);
  });

  it('answers as the documented response schemas say', async () => {
    const sent = await sendWebhook(url, pipeline, { type: 'order.created', amount: 1 });
    expect(sent.status).toBe(202);
    await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === 1, 15_000, 'the event stored');
    await sendWebhook(url, pipeline, { bad: true }, { secret: `whsec_${Buffer.alloc(24, 1).toString('base64')}` });
    expect((await api.request('POST', '/api/tokens', { pipelines: [pipeline.id], label: 'docs' })).status).toBe(201);
    const paths: Record<string, string> = { '/api/pipelines': '/api/pipelines', '/api/tokens': '/api/tokens', '/api/cluster': '/api/cluster', '/api/pipelines/{id}/breakdown': `/api/pipelines/${pipeline.id}/breakdown?by=type` };
    let checked = 0;
    for (const route of API_ROUTES.filter((entry) => entry.method === 'get' && entry.response)) {
      const path = paths[route.path] ?? route.path.replace('{id}', pipeline.id);
      const answer = await api.request('GET', path);
      expect({ path, status: answer.status }).toEqual({ path, status: route.status });
      const parsed = route.response?.safeParse(answer.body);
      expect({ path, issues: parsed?.success ? [] : parsed?.error.issues }).toEqual({ path, issues: [] });
      checked += 1;
    }
    expect(checked).toBeGreaterThanOrEqual(9);
  });

  it('finds events by their exact id, alone or with the type filter', async () => {
    const batch = [
      { id: 'evt_a', type: 'order.created' },
      { id: 'evt_b', type: 'order.paid' },
      { id: 'evt_c', type: 'order.paid' },
    ];
    const searched = await api.createPipeline({ name: 'searched' });
    expect((await sendWebhook(url, searched, batch)).status).toBe(202);
    await waitFor(() => api.stats(searched.id), (stats) => stats.count === 3, 15_000, 'three events stored');
    const events = (query: string) => api.request('GET', `/api/pipelines/${searched.id}/events?${query}`);
    const found = await events('eventId=evt_b');
    expect(found.status).toBe(200);
    expect(found.body).toEqual({ items: [expect.objectContaining({ id: 'evt_b', type: 'order.paid' })], next: null, partial: false });
    expect((await events('eventId=evt_b&type=order.created')).body.items).toEqual([]);
    expect((await events('eventId=evt_c&type=order.paid')).body.items.map((event: { id: string }) => event.id)).toEqual(['evt_c']);
    expect((await events('eventId=EVT_B')).body.items).toEqual([]);
    expect((await events('eventId=')).body.error).toBe('invalid_request');
    expect((await events('type=order.paid&limit=1')).body).toMatchObject({ items: [expect.anything()], next: expect.any(String) });
  });

  it('learns the payload paths of stored events into the field catalog', async () => {
    const learned = await api.createPipeline({ name: 'learned' });
    const batch = [
      { id: 'o1', type: 'order.paid', data: { order: { total: 42.5, currency: 'EUR' } } },
      { id: 'o2', type: 'order.paid', data: { order: { total: 'n/a', currency: 'USD' } } },
      { id: 'o3', type: 'order.refunded', data: { order: { currency: 'EUR' } } },
    ];
    expect((await sendWebhook(url, learned, batch)).status).toBe(202);
    const fields = await waitFor(
      async () => (await api.request('GET', `/api/pipelines/${learned.id}/fields`)).body as { items: Array<Record<string, unknown>> },
      (body) => body.items.length === 6,
      15_000,
      'the catalog learned',
    );
    const byPath = Object.fromEntries(fields.items.map((item) => [item.path, item]));
    expect(Object.keys(byPath).sort()).toEqual(['data', 'data.order', 'data.order.currency', 'data.order.total', 'id', 'type']);
    expect(byPath['data.order.total']).toMatchObject({ types: ['number', 'string'], examples: [42.5, 'n/a'] });
    expect(byPath['data.order.total'].share).toBeCloseTo(2 / 3, 3);
    expect(byPath['data.order.currency']).toMatchObject({ types: ['string'], share: 1, examples: ['EUR', 'USD'], firstSeenAt: expect.any(String), lastSeenAt: expect.any(String) });
  });
});
