import { createServer, type Server } from 'node:http';
import { RedisKeys } from '@dash/infra';
import type { AddressInfo } from 'node:net';
import { QueueName } from '@dash/domain';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { queryDb, REDIS_URL, startStack, testEnv, waitFor, type Api, type Stack } from './support/harness';

/** A small HTTP API to poll: serves `items` under data.items, with a cursor. */
class Source {
  items: unknown[] = [];
  status = 200;
  readonly requests: URL[] = [];
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      this.requests.push(url);
      response.writeHead(this.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ data: { items: this.items }, next: `page-${this.requests.length}`, auth: request.headers['x-api-key'] ?? null }));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/events`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe('poll sources', () => {
  const env = testEnv('poll', { OUTBOUND_ALLOW_PRIVATE: 'true' });
  let stack: Stack;
  let api: Api;
  const source = new Source();

  beforeAll(async () => {
    await source.start();
    stack = await startStack(env);
    api = stack.api;
  });

  afterAll(async () => {
    await stack?.close();
    await source.stop();
  });

  it('ingests the items at itemsPath like webhook events, and deduplicates repeats across polls', async () => {
    source.items = [
      { id: 'p1', type: 'tick', timestamp: 1767225600 },
      { id: 'p2', type: 'tick' },
      { note: 'no id: identified by content' },
    ];
    const pipeline = await api.createPipeline({
      name: 'polled',
      source: { type: 'poll', url: source.url, intervalSeconds: 3600, itemsPath: 'data.items', headers: { 'x-api-key': 'k1' }, cursor: { param: 'after', path: 'next' } },
    });
    const first = await api.request('POST', `/api/pipelines/${pipeline.id}/poll`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'ok', items: 3, error: null, at: expect.any(String) });
    expect((await api.stats(pipeline.id)).count).toBe(3);

    const second = await api.request('POST', `/api/pipelines/${pipeline.id}/poll`);
    expect(second.body).toMatchObject({ status: 'ok', items: 3 });
    expect((await api.stats(pipeline.id)).count).toBe(3);
    const rows = await queryDb<{ event_id: string; type: string | null; occurred_at: Date }>(env, 'SELECT event_id, type, occurred_at FROM events WHERE pipeline_id = $1 ORDER BY event_id', [pipeline.id]);
    expect(rows.map((r) => r.event_id)).toEqual(['p1', 'p2', expect.stringMatching(/^poll:/)]);
    expect(rows[0].occurred_at.toISOString()).toBe('2026-01-01T00:00:00.000Z');

    // The cursor from one answer goes with the next request; the headers with every request.
    expect(source.requests[0].searchParams.get('after')).toBeNull();
    expect(source.requests.at(-1)?.searchParams.get('after')).toBe(`page-${source.requests.length - 1}`);
    expect((await api.request('GET', `/api/pipelines/${pipeline.id}`)).body.lastPoll).toMatchObject({ status: 'ok', items: 3 });
  });

  it('shows a poll source credentials (headers, URL user info and query) to the admin only', async () => {
    const url = `${source.url.replace('http://', 'http://reader:hunter2@')}?api_key=sk_live_123&page=1`;
    const pipeline = await api.createPipeline({ source: { type: 'poll', url, intervalSeconds: 3600, itemsPath: 'data.items', headers: { Authorization: 'Bearer upstream-secret' } } });
    const asAdmin = await api.request('GET', `/api/pipelines/${pipeline.id}`);
    expect(asAdmin.body.source).toMatchObject({ url, headers: { Authorization: 'Bearer upstream-secret' } });
    expect((await api.request('GET', '/api/pipelines')).body.items.find((item: { id: string }) => item.id === pipeline.id).source.headers).toEqual({ Authorization: 'Bearer upstream-secret' });

    const token = (await api.request('POST', '/api/tokens', { pipelines: [pipeline.id] })).body.token as string;
    const viewer = api.withToken(token);
    const one = await viewer.request('GET', `/api/pipelines/${pipeline.id}`);
    const list = await viewer.request('GET', '/api/pipelines');
    expect(one.status).toBe(200);
    expect(one.body.source).toEqual({ type: 'poll', url: source.url, intervalSeconds: 3600, itemsPath: 'data.items' });
    expect(list.body.items).toEqual([expect.objectContaining({ id: pipeline.id, source: one.body.source })]);
    for (const text of [JSON.stringify(one.body), JSON.stringify(list.body)]) expect(text).not.toMatch(/upstream-secret|sk_live_123|hunter2|reader/);
  });

  it('records a failing source without storing anything', async () => {
    const pipeline = await api.createPipeline({ source: { type: 'poll', url: source.url, intervalSeconds: 3600, itemsPath: 'data.items' } });
    source.status = 500;
    try {
      const result = await api.request('POST', `/api/pipelines/${pipeline.id}/poll`);
      expect(result.body).toMatchObject({ status: 'error', items: 0, error: expect.stringContaining('500') });
    } finally {
      source.status = 200;
    }
    const wrongPath = await api.createPipeline({ source: { type: 'poll', url: source.url, intervalSeconds: 3600, itemsPath: 'data.missing' } });
    expect((await api.request('POST', `/api/pipelines/${wrongPath.id}/poll`)).body).toMatchObject({ status: 'error', error: expect.stringContaining('itemsPath') });
    expect((await api.stats(pipeline.id)).count).toBe(0);
    expect((await api.stats(wrongPath.id)).count).toBe(0);
  });

  it('refuses a poll whose items PostgreSQL could not store (\\u0000, a lone surrogate): the poll records why, nothing is queued or stored', async () => {
    const pipeline = await api.createPipeline({ source: { type: 'poll', url: source.url, intervalSeconds: 3600, itemsPath: 'data.items' } });
    for (const [items, error] of [
      [[{ id: 'fine' }, { id: 'nul', data: { name: 'a\u0000b' } }], 'invalid_event: event 1: payload.data.name contains \\u0000, which PostgreSQL cannot store'],
      [[{ id: 'lone', s: 'x\ud800' }], 'invalid_event: event 0: payload.s contains an unpaired UTF-16 surrogate'],
    ] as const) {
      source.items = [...items];
      const result = await api.request('POST', `/api/pipelines/${pipeline.id}/poll`);
      expect(result.body).toMatchObject({ status: 'error', items: 0, error: expect.stringContaining(error) });
    }
    source.items = [{ id: 'after' }];
    expect((await api.request('POST', `/api/pipelines/${pipeline.id}/poll`)).body).toMatchObject({ status: 'ok', items: 1 });
    await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === 1, 15_000, 'the good poll stored');
    expect((await api.request('GET', `/api/pipelines/${pipeline.id}/failures`)).body.total).toBe(0);
  });

  it('polls on its schedule', async () => {
    source.items = [{ id: 'scheduled-1' }];
    const pipeline = await api.createPipeline({ source: { type: 'poll', url: source.url, intervalSeconds: 5, itemsPath: 'data.items' } });
    await waitFor(() => api.stats(pipeline.id), (s) => s.count === 1, 15_000, 'a scheduled poll');
    source.items = [{ id: 'scheduled-1' }, { id: 'scheduled-2' }];
    await waitFor(() => api.stats(pipeline.id), (s) => s.count === 2, 15_000, 'the next scheduled poll');
    // Switching the source to webhooks stops the schedule.
    const queue = new Queue(QueueName.Default, { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix: new RedisKeys(env.name).bull });
    try {
      const scheduled = async () => (await queue.getJobSchedulers()).map((scheduler) => scheduler.key);
      expect(await scheduled()).toContain(`poll:${pipeline.id}`);
      expect((await api.request('PATCH', `/api/pipelines/${pipeline.id}`, { source: { type: 'webhook' } })).status).toBe(200);
      expect(await scheduled()).not.toContain(`poll:${pipeline.id}`);
    } finally {
      await queue.close();
      (await queue.client).disconnect();
    }
  });

  it('refuses a webhook pipeline and validates poll sources', async () => {
    const hook = await api.createPipeline();
    expect((await api.request('POST', `/api/pipelines/${hook.id}/poll`)).body.error).toBe('invalid_request');
    const tooFast = await api.request('POST', '/api/pipelines', { name: 'x', source: { type: 'poll', url: source.url, intervalSeconds: 4 } });
    expect(tooFast.status).toBe(400);
  });
});

describe('poll sources without OUTBOUND_ALLOW_PRIVATE', () => {
  let stack: Stack;
  let api: Api;

  beforeAll(async () => {
    stack = await startStack(testEnv('pollssrf'));
    api = stack.api;
  });

  afterAll(() => stack?.close());

  it.each([['http://127.0.0.1:9/x'], ['http://localhost:9/x'], ['http://[::1]:9/x'], ['http://10.1.2.3/x'], ['http://169.254.169.254/latest/meta-data'], ['http://127.0.0.1:6379/']])(
    'refuses to save %s (SSRF): 400, nothing stored',
    async (url) => {
      const before = await queryDb(stack.env, 'SELECT id FROM pipelines');
      const created = await api.request('POST', '/api/pipelines', { name: 'ssrf', source: { type: 'poll', url, intervalSeconds: 3600 } });
      expect(created.status).toBe(400);
      expect(created.body).toMatchObject({ error: 'private_address', message: expect.stringContaining('OUTBOUND_ALLOW_PRIVATE') });
      expect(await queryDb(stack.env, 'SELECT id FROM pipelines')).toEqual(before);
    },
  );

  it('refuses to change a source to a private URL', async () => {
    const pipeline = await api.createPipeline({ source: { type: 'poll', url: 'https://8.8.8.8/x', intervalSeconds: 3600 } });
    const changed = await api.request('PATCH', `/api/pipelines/${pipeline.id}`, { source: { type: 'poll', url: 'http://[::ffff:127.0.0.1]:6379/', intervalSeconds: 3600 } });
    expect(changed.status).toBe(400);
    expect(changed.body.error).toBe('private_address');
    expect((await api.request('GET', `/api/pipelines/${pipeline.id}`)).body.source.url).toBe('https://8.8.8.8/x');
  });

  it('refuses again at connection time a URL that became private after it was saved', async () => {
    const target = new Source();
    await target.start();
    try {
      const pipeline = await api.createPipeline({ source: { type: 'poll', url: 'https://8.8.8.8/x', intervalSeconds: 3600 } });
      // As if the name's address changed since it was saved (or the row predates the check).
      await queryDb(stack.env, `UPDATE pipelines SET source = jsonb_set(source, '{url}', to_jsonb($2::text)) WHERE id = $1`, [pipeline.id, target.url]);
      const result = await api.request('POST', `/api/pipelines/${pipeline.id}/poll`);
      expect(result.body).toMatchObject({ status: 'error', error: expect.stringContaining('refused') });
      expect(target.requests).toHaveLength(0);
    } finally {
      await target.stop();
    }
  });

  it('refuses request headers a user may not set', async () => {
    for (const name of ['Host', 'Transfer-Encoding', 'Content-Length', 'Connection']) {
      const created = await api.request('POST', '/api/pipelines', { name: 'h', source: { type: 'poll', url: 'https://8.8.8.8/x', intervalSeconds: 3600, headers: { [name]: 'x' } } });
      expect(created.status).toBe(400);
      expect(created.body).toMatchObject({ error: 'invalid_request', message: expect.stringContaining('cannot be set') });
    }
  });
});
