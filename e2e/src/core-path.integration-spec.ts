import type { INestMicroservice } from '@nestjs/common';
import { Backlog, RedisKeys } from '@dash/infra';
import type { DataUpdated } from '@dash/domain';
import { signWebhook } from '@dash/domain';
import { STORAGE_SERVERS } from '@dash/infra/testing';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { Api, connectViewer, queryDb, REDIS_URL, sendWebhook, startIngestor, startWeb, testEnv, waitFor, type CreatedPipeline, type RunningWeb, type Viewer } from './support/harness';

/**
 * Two web nodes and one ingestor sharing one database and one Redis key prefix, on stock
 * PostgreSQL (native partitions) and on TimescaleDB (a hypertable).
 */
describe.each(STORAGE_SERVERS)('core path: signed webhooks to live updates, on $server', ({ server }) => {
  const env = testEnv('core', {}, server);
  // What never reaches the events table (rejections, tokens, pipeline changes, health) is the same
  // code on both servers: it runs once, on stock PostgreSQL.
  const describeOnce = (name: string, fn: () => void) => {
    if (server === 'postgres') describe(name, fn);
  };
  const itOnce = (name: string, fn: () => Promise<void>) => {
    if (server === 'postgres') it(name, fn);
  };
  let ingestor: INestMicroservice;
  let nodeA: RunningWeb;
  let nodeB: RunningWeb;
  let apiA: Api;
  let apiB: Api;
  const sockets: Viewer[] = [];

  beforeAll(async () => {
    ingestor = await startIngestor(env.config('ingestor'));
    nodeA = await startWeb(env.config('web'));
    nodeB = await startWeb(env.config('web'));
    apiA = new Api(nodeA.url);
    apiB = new Api(nodeB.url);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await nodeA?.close();
    await nodeB?.close();
    await ingestor?.close();
    await env.cleanup();
  });

  async function viewer(url: string, token: string): Promise<Viewer> {
    const socket = await connectViewer(url, token);
    sockets.push(socket);
    return socket;
  }

  async function storedIds(pipelineId: string): Promise<string[]> {
    const rows = await queryDb<{ event_id: string }>(env, 'SELECT event_id FROM events WHERE pipeline_id = $1 ORDER BY event_id', [pipelineId]);
    return rows.map((row) => row.event_id);
  }

  it('stores a signed webhook sent to node A and announces it to a viewer on node B', async () => {
    const pipeline = await apiA.createPipeline({ name: 'orders' });
    expect(pipeline.signingSecret).toMatch(/^whsec_/);
    const socket = await viewer(nodeB.url, apiA.token);
    const ack = await socket.emitWithAck('subscribe', { pipelineId: pipeline.id });
    expect(ack).toEqual({ ok: true, stats: expect.objectContaining({ pipelineId: pipeline.id, count: 0, lastEvent: null }) });

    const updates: DataUpdated[] = [];
    socket.on('data_updated', (update) => updates.push(update));
    const sent = await sendWebhook(nodeA.url, pipeline, { type: 'order.created', total: 42, timestamp: '2026-01-02T03:04:05.000Z' });
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({ accepted: 1 });

    const update = await waitFor(() => updates.at(-1), (u) => u?.count === 1, 10_000, 'data_updated');
    expect(update).toMatchObject({ pipelineId: pipeline.id, count: 1, lastEvent: { id: sent.id, type: 'order.created', occurredAt: '2026-01-02T03:04:05.000Z', payload: { total: 42 } } });
    expect(typeof update?.emittedAt).toBe('string');
    expect(await storedIds(pipeline.id)).toEqual([sent.id]);
    expect(await apiB.stats(pipeline.id)).toMatchObject({ count: 1, lastEventAt: expect.any(String), lastEvent: { id: sent.id } });
  });

  it('stores a retried delivery with a new timestamp once', async () => {
    const pipeline = await apiA.createPipeline();
    const first = await sendWebhook(nodeA.url, pipeline, { n: 1 }, { id: 'msg_retry', timestamp: new Date(Date.now() - 60_000) });
    const retry = await sendWebhook(nodeB.url, pipeline, { n: 1 }, { id: 'msg_retry', timestamp: new Date() });
    expect([first.status, retry.status]).toEqual([202, 202]);
    await waitFor(() => apiA.stats(pipeline.id), (s) => s.count >= 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await storedIds(pipeline.id)).toEqual(['msg_retry']);
    expect((await apiA.stats(pipeline.id)).count).toBe(1);
  });

  it('stores exactly the unique ids of N events with repeated ids and new timestamps', async () => {
    const pipeline = await apiA.createPipeline();
    const ids = Array.from({ length: 60 }, (_, i) => `evt_${i % 25}`);
    const results = await Promise.all(
      ids.map((id, i) => sendWebhook(i % 2 ? nodeA.url : nodeB.url, pipeline, { i }, { id, timestamp: new Date(Date.now() - i * 1000) })),
    );
    expect(results.every((r) => r.status === 202)).toBe(true);
    const unique = [...new Set(ids)].sort();
    await waitFor(() => apiA.stats(pipeline.id), (s) => s.count >= unique.length);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await storedIds(pipeline.id)).toEqual(unique);
    expect((await apiA.stats(pipeline.id)).count).toBe(unique.length);
    // Every queued event is released from the backlog once committed: nothing leaks into later 429s.
    const redis = new Redis(REDIS_URL);
    try {
      const backlog = new Backlog(redis, new RedisKeys(env.name));
      const totals = await waitFor(() => backlog.totals(), (t) => t.total === 0, 5000, 'an empty backlog');
      expect(totals.byPipeline.get(pipeline.id) ?? 0).toBe(0);
    } finally {
      redis.disconnect();
    }
  });

  it('takes a JSON array batch with ids, times and types from the configured paths', async () => {
    const pipeline = await apiA.createPipeline({ eventIdPath: 'data.id', eventTimePath: 'data.at', eventTypePath: 'kind' });
    const batch = [
      { kind: 'a', data: { id: 'x1', at: 1767225600 } },
      { kind: 'b', data: { id: 'x2', at: 1767225600123 } },
      { data: { at: '2026-01-01T00:00:00Z' } },
    ];
    const sent = await sendWebhook(nodeA.url, pipeline, batch, { id: 'msg_batch' });
    expect(sent).toMatchObject({ status: 202, body: { accepted: 3 } });
    await waitFor(() => apiA.stats(pipeline.id), (s) => s.count === 3);
    const { body } = await apiA.request('GET', `/api/pipelines/${pipeline.id}/events?limit=10`);
    const byId = Object.fromEntries(body.items.map((e: any) => [e.id, e]));
    expect(Object.keys(byId).sort()).toEqual(['msg_batch:2', 'x1', 'x2']);
    expect(byId.x1).toMatchObject({ type: 'a', occurredAt: '2026-01-01T00:00:00.000Z' });
    expect(byId.x2).toMatchObject({ type: 'b', occurredAt: '2026-01-01T00:00:00.123Z' });
    expect(byId['msg_batch:2']).toMatchObject({ type: null, occurredAt: '2026-01-01T00:00:00.000Z' });
  });

  it('takes NDJSON, one event a line', async () => {
    const pipeline = await apiA.createPipeline();
    const body = ['{"id":"n1","type":"t"}', '', '{"id":"n2"}', '{"value":3}'].join('\n');
    const sent = await sendWebhook(nodeA.url, pipeline, body, { id: 'msg_nd', contentType: 'application/x-ndjson' });
    expect(sent).toMatchObject({ status: 202, body: { accepted: 3 } });
    await waitFor(() => apiA.stats(pipeline.id), (s) => s.count === 3);
    expect(await storedIds(pipeline.id)).toEqual(['msg_nd:2', 'n1', 'n2']);
  });

  it('pages through events newest first with a cursor and a type filter', async () => {
    const pipeline = await apiA.createPipeline();
    const batch = Array.from({ length: 7 }, (_, i) => ({ id: `p${i}`, type: i % 2 ? 'odd' : 'even', timestamp: 1767225600 + i }));
    await sendWebhook(nodeA.url, pipeline, batch);
    await waitFor(() => apiA.stats(pipeline.id), (s) => s.count === 7);
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const page: { body: { items: Array<{ id: string }>; next: string | null } } = await apiA.request('GET', `/api/pipelines/${pipeline.id}/events?limit=3${next ? `&before=${next}` : ''}`);
      seen.push(...page.body.items.map((e) => e.id));
      next = page.body.next;
    } while (next);
    expect(seen).toEqual(['p6', 'p5', 'p4', 'p3', 'p2', 'p1', 'p0']);
    const odd = await apiA.request('GET', `/api/pipelines/${pipeline.id}/events?type=odd`);
    expect(odd.body.items.map((e: { id: string }) => e.id)).toEqual(['p5', 'p3', 'p1']);
    expect((await apiA.request('GET', `/api/pipelines/${pipeline.id}/events?before=garbage`)).body.error).toBe('invalid_request');
    expect((await apiA.request('GET', `/api/pipelines/${pipeline.id}/events?limit=0`)).status).toBe(400);
  });

  describeOnce('rejections store nothing', () => {
    let pipeline: CreatedPipeline;
    beforeAll(async () => {
      pipeline = await apiA.createPipeline();
    });

    async function post(headers: Record<string, string>, body: string | Buffer, target = pipeline.id) {
      const response = await fetch(`${nodeA.url}/webhooks/${target}`, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
      return { status: response.status, body: (await response.json()) as { error: string }, retryAfter: response.headers.get('retry-after') };
    }

    function signed(body: string, options: { id?: string; timestamp?: number; secret?: string; contentType?: string } = {}) {
      const id = options.id ?? 'msg_bad';
      const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
      const signature = new Webhook(options.secret ?? pipeline.signingSecret).sign(id, new Date(timestamp * 1000), body);
      return { 'content-type': options.contentType ?? 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
    }

    const otherSecret = 'whsec_' + Buffer.alloc(24, 7).toString('base64');
    const now = () => Math.floor(Date.now() / 1000);
    const cases: Array<[string, () => Promise<{ status: number; body: { error: string } }>, number, string]> = [
      ['invalid JSON', () => post(signed('{"a":'), '{"a":'), 400, 'invalid_json'],
      ['invalid UTF-8', () => {
        const bytes = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]); // {"a":"\xff"}
        const ts = now();
        return post({ 'content-type': 'application/json', 'webhook-id': 'msg_utf8', 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook(pipeline.signingSecret, 'msg_utf8', ts, bytes) }, bytes);
      }, 400, 'invalid_json'],
      ['a JSON scalar', () => post(signed('42'), '42'), 400, 'invalid_event'],
      ['a batch with a non-object', () => post(signed('[{"a":1},3]'), '[{"a":1},3]'), 400, 'invalid_event'],
      ['an empty batch', () => post(signed('[]'), '[]'), 400, 'invalid_event'],
      ['a batch over 1000 events', () => { const b = JSON.stringify(Array.from({ length: 1001 }, () => ({}))); return post(signed(b), b); }, 400, 'invalid_event'],
      ['an unparseable event time', () => post(signed('{"timestamp":"soon"}'), '{"timestamp":"soon"}'), 400, 'invalid_event'],
      ['no signature headers', () => post({ 'content-type': 'application/json' }, '{}'), 401, 'missing_signature'],
      ['a signature by another secret', () => post(signed('{}', { secret: otherSecret }), '{}'), 401, 'invalid_signature'],
      ['a body changed after signing', () => post(signed('{"a":1}'), '{"a":2}'), 401, 'invalid_signature'],
      ['a timestamp too old', () => post(signed('{}', { timestamp: now() - 301 }), '{}'), 401, 'timestamp_out_of_tolerance'],
      ['a timestamp too far ahead', () => post(signed('{}', { timestamp: now() + 301 }), '{}'), 401, 'timestamp_out_of_tolerance'],
      ['an unknown pipeline', () => post(signed('{}'), '{}', '00000000-0000-4000-8000-000000000000'), 404, 'pipeline_not_found'],
      ['a malformed pipeline id', () => post(signed('{}'), '{}', 'not-a-uuid'), 404, 'pipeline_not_found'],
      ['a body over WEBHOOK_MAX_BYTES', () => { const b = JSON.stringify({ pad: 'x'.repeat(1_100_000) }); return post(signed(b), b); }, 413, 'payload_too_large'],
      ['text/plain', () => post(signed('{}', { contentType: 'text/plain' }), '{}'), 415, 'unsupported_media_type'],
      ['no content type', () => post({ 'webhook-id': 'x' }, '{}'), 415, 'unsupported_media_type'],
    ];

    it.each(cases)('answers %s with its 4xx code', async (_name, send, status, code) => {
      const response = await send();
      expect(response.status).toBe(status);
      expect(response.body).toEqual({ error: code, message: expect.any(String) });
    });

    it('left nothing stored after all of them', async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await storedIds(pipeline.id)).toEqual([]);
      expect((await apiA.stats(pipeline.id)).count).toBe(0);
    });
  });

  describeOnce('pipelines and access', () => {
    it('keeps the previous secret valid after rotation, on every node', async () => {
      const pipeline = await apiA.createPipeline();
      expect((await sendWebhook(nodeB.url, pipeline, {})).status).toBe(202); // node B caches the old secret
      const rotated = await apiA.request('POST', `/api/pipelines/${pipeline.id}/rotate-secret`);
      expect(rotated.status).toBe(200);
      expect(rotated.body.signingSecret).toMatch(/^whsec_/);
      expect(rotated.body.signingSecret).not.toBe(pipeline.signingSecret);
      const withNew = { ...pipeline, signingSecret: rotated.body.signingSecret };
      await waitFor(() => sendWebhook(nodeB.url, withNew, {}).then((r) => r.status), (s) => s === 202, 5000, 'new secret accepted on node B');
      expect((await sendWebhook(nodeB.url, pipeline, {})).status).toBe(202);
      expect((await apiA.request('GET', `/api/pipelines/${pipeline.id}`)).body.signingSecret).toBeUndefined();
    });

    it('stops accepting on every node once a pipeline is deleted', async () => {
      const pipeline = await apiA.createPipeline();
      expect((await sendWebhook(nodeB.url, pipeline, {})).status).toBe(202);
      expect((await apiA.request('DELETE', `/api/pipelines/${pipeline.id}`)).status).toBe(204);
      await waitFor(() => sendWebhook(nodeB.url, pipeline, {}).then((r) => r.status), (s) => s === 404, 5000, 'deleted pipeline refused on node B');
      expect((await apiB.request('GET', `/api/pipelines/${pipeline.id}`)).status).toBe(404);
    });

    it('heeds pipeline changes announced for its own deployment only', async () => {
      const pipeline = await apiA.createPipeline();
      expect((await sendWebhook(nodeB.url, pipeline, {})).status).toBe(202); // node B caches it
      // Deleted behind the API's back: only an announcement tells the nodes.
      await queryDb(env, 'DELETE FROM pipelines WHERE id = $1', [pipeline.id]);
      const redis = new Redis(REDIS_URL);
      try {
        const announce = (scope: string) => redis.publish('pipeline.changed', JSON.stringify({ pattern: 'pipeline.changed', data: { scope, pipelineId: pipeline.id, change: 'deleted' } }));
        await announce('another-deployment');
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect((await sendWebhook(nodeB.url, pipeline, {})).status).toBe(202);
        await announce(env.name);
        await waitFor(() => sendWebhook(nodeB.url, pipeline, {}).then((r) => r.status), (s) => s === 404, 5000, 'the cache entry evicted');
      } finally {
        redis.disconnect();
      }
    });

    it('lists, reads and updates pipelines with counts', async () => {
      const pipeline = await apiA.createPipeline({ name: 'before' });
      const patched = await apiA.request('PATCH', `/api/pipelines/${pipeline.id}`, { name: 'after' });
      expect(patched.body).toMatchObject({ id: pipeline.id, name: 'after' });
      const list = await apiB.request('GET', '/api/pipelines');
      expect(list.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ id: pipeline.id, name: 'after', count: 0, lastEventAt: null })]));
      expect((await apiA.request('PATCH', `/api/pipelines/${pipeline.id}`, { name: '' })).body.error).toBe('invalid_request');
      expect((await apiA.request('POST', '/api/pipelines', { name: 'x', source: { type: 'poll', url: 'ftp://x', intervalSeconds: 1 } })).status).toBe(400);
    });

    it('scopes viewer tokens to their pipelines over HTTP', async () => {
      const mine = await apiA.createPipeline();
      const other = await apiA.createPipeline();
      const created = await apiA.request('POST', '/api/tokens', { pipelines: [mine.id] });
      expect(created.status).toBe(201);
      const viewerApi = apiA.withToken(created.body.token);
      expect((await viewerApi.request('GET', `/api/pipelines/${mine.id}/stats`)).status).toBe(200);
      expect((await viewerApi.request('GET', `/api/pipelines/${other.id}/stats`)).body.error).toBe('forbidden');
      expect((await viewerApi.request('GET', '/api/pipelines')).body.items.map((p: { id: string }) => p.id)).toEqual([mine.id]);
      expect((await viewerApi.request('POST', '/api/pipelines', { name: 'x', source: { type: 'webhook' } })).status).toBe(403);
      expect((await viewerApi.request('POST', '/api/tokens', { pipelines: [other.id] })).status).toBe(403);
      expect((await apiA.withToken('nope').request('GET', '/api/pipelines')).body.error).toBe('unauthorized');
      expect((await fetch(`${nodeA.url}/api/pipelines`)).status).toBe(401);
      const stored = await queryDb<{ token_hash: Buffer }>(env, 'SELECT token_hash FROM api_tokens');
      expect(stored.some((row) => row.token_hash.toString('utf8').includes(created.body.token))).toBe(false);
    });

    it('scopes viewer tokens over socket.io and refuses bad handshakes', async () => {
      const mine = await apiA.createPipeline();
      const other = await apiA.createPipeline();
      const { body } = await apiA.request('POST', '/api/tokens', { pipelines: [mine.id] });
      const socket = await viewer(nodeB.url, body.token);
      expect(await socket.emitWithAck('subscribe', { pipelineId: mine.id })).toMatchObject({ ok: true });
      expect(await socket.emitWithAck('subscribe', { pipelineId: other.id })).toEqual({ ok: false, error: 'forbidden' });
      const admin = await viewer(nodeB.url, apiA.token);
      expect(await admin.emitWithAck('subscribe', { pipelineId: '00000000-0000-4000-8000-000000000000' })).toEqual({ ok: false, error: 'not_found' });
      expect(await admin.emitWithAck('unsubscribe', { pipelineId: mine.id })).toEqual({ ok: true });
      await expect(connectViewer(nodeA.url, 'wrong')).rejects.toThrow('unauthorized');
      await expect(connectViewer(nodeA.url, undefined)).rejects.toThrow('unauthorized');
    });
  });

  itOnce('reports health and readiness', async () => {
    expect((await fetch(`${nodeA.url}/health`)).status).toBe(200);
    const ready = await fetch(`${nodeA.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});
