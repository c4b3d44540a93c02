import { MAX_LIVE_PAYLOAD_BYTES, MAX_PAGE_BYTES, MAX_SOCKET_COMMANDS_PER_SECOND, type DataUpdated } from '@dash/domain';
import { randomBytes } from 'node:crypto';
import { Webhook as SvixWebhook } from 'svix';
import { LiveGateway } from '../../apps/web/src/live/live.gateway';
import { connectViewer, queryDb, sendWebhook, startStack, testEnv, waitFor, type CreatedPipeline, type Stack, type Viewer } from './support/harness';

const deepObject = (levels: number, newline = '') => '{"a":'.concat(newline).repeat(levels) + '1' + '}'.repeat(levels);
const deepArray = (levels: number, newline = '') => '['.concat(newline).repeat(levels) + '1' + ']'.repeat(levels);
const cursor = (time: string, seq: string) => Buffer.from(JSON.stringify([time, seq])).toString('base64url');

/** Issue 14, items 1, 2, 4 and 10: hostile bodies, stored payloads and clients against one stack. */
describe('hostile input and clients: depth, size and rate bounds', () => {
  const env = testEnv('hostile');
  let stack: Stack;
  const sockets: Viewer[] = [];

  beforeAll(async () => {
    stack = await startStack(env);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await stack?.close();
  });

  const viewer = async () => {
    const socket = await connectViewer(stack.web.url, stack.api.token);
    sockets.push(socket);
    return socket;
  };
  const stored = async (pipelineId: string) => Number((await queryDb<{ n: string }>(env, 'SELECT count(*) AS n FROM events WHERE pipeline_id = $1', [pipelineId]))[0].n);
  const alive = async () => expect((await fetch(`${stack.web.url}/health`)).status).toBe(200);

  /** A row as an older version stored it, bypassing today's intake. */
  async function storeDirectly(pipeline: CreatedPipeline, eventId: string, payloadJson: string, occurredAt = '2026-01-01T00:00:00Z', withStats = true) {
    await queryDb(env, `INSERT INTO events (pipeline_id, event_id, type, occurred_at, received_at, payload) VALUES ($1, $2, 't', $3, now(), $4::jsonb)`, [pipeline.id, eventId, occurredAt, payloadJson]);
    if (!withStats) return;
    await queryDb(
      env,
      `INSERT INTO pipeline_stats (pipeline_id, count, version, last_event, last_event_at)
       VALUES ($1, 1, 1, jsonb_build_object('id', $2::text, 'type', 't', 'occurredAt', $3::text, 'receivedAt', $3::text, 'payload', $4::jsonb), now())
       ON CONFLICT (pipeline_id) DO UPDATE SET count = pipeline_stats.count + 1, version = pipeline_stats.version + 1, last_event = excluded.last_event, last_event_at = excluded.last_event_at`,
      [pipeline.id, eventId, occurredAt, payloadJson],
    );
  }

  describe('nesting depth, for every format', () => {
    it.each([
      ['objects with a newline after each level', deepObject(8000, '\n')],
      ['arrays with a newline after each level', deepArray(8000, '\n')],
      ['arrays', deepArray(8000)],
      ['a batch whose item nests deep', `[{"id":"x","p":${deepArray(200)}}]`],
    ])('refuses an application/json body of %s with 400 invalid_event, storing nothing', async (_label, body) => {
      const pipeline = await stack.api.createPipeline();
      const sent = await sendWebhook(stack.web.url, pipeline, body);
      expect(sent.status).toBe(400);
      expect(sent.body).toMatchObject({ error: 'invalid_event' });
      expect(await stored(pipeline.id)).toBe(0);
      await alive();
    });

    it('refuses an NDJSON line nested deep, and still reads lines one by one', async () => {
      const pipeline = await stack.api.createPipeline();
      const deepLine = await sendWebhook(stack.web.url, pipeline, `{"id":"a"}\n{"id":"b","p":${deepArray(150)}}`, { contentType: 'application/x-ndjson' });
      expect(deepLine).toMatchObject({ status: 400, body: { error: 'invalid_event' } });
      const shallow = Array.from({ length: 60 }, (_, i) => `{"id":"n${i}","p":${deepArray(60)}}`).join('\n');
      expect((await sendWebhook(stack.web.url, pipeline, shallow, { contentType: 'application/x-ndjson' })).status).toBe(202);
    });
  });

  describe('payloads stored deep by an older version', () => {
    it('still answers stats, events and a socket subscribe, with the payload left out', async () => {
      const pipeline = await stack.api.createPipeline();
      // 2 000 levels: small enough (12 KB) to pass the size cut, too deep to serialize naively.
      await storeDirectly(pipeline, 'deep', deepObject(2000));
      const stats = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/stats`);
      expect(stats.status).toBe(200);
      expect(stats.body.lastEvent).toMatchObject({ id: 'deep', payload: null, payloadTruncated: true });
      const events = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/events`);
      expect(events.status).toBe(200);
      expect(events.body.items).toEqual([expect.objectContaining({ id: 'deep', payload: null, payloadTruncated: true })]);
      const socket = await viewer();
      const ack = await socket.timeout(5000).emitWithAck('subscribe', { pipelineId: pipeline.id });
      expect(ack).toMatchObject({ ok: true, stats: { lastEvent: { id: 'deep', payload: null, payloadTruncated: true } } });
      expect(socket.connected).toBe(true);
      await alive();
    });
  });

  describe('payloads over 16 KiB in stats, acks and live updates', () => {
    it('sends them as null with payloadTruncated and payloadBytes; the events API returns them whole', async () => {
      const pipeline = await stack.api.createPipeline();
      const socket = await viewer();
      expect(await socket.emitWithAck('subscribe', { pipelineId: pipeline.id })).toMatchObject({ ok: true });
      const updates: DataUpdated[] = [];
      socket.on('data_updated', (update) => updates.push(update));
      const big = { type: 'big', blob: 'x'.repeat(MAX_LIVE_PAYLOAD_BYTES + 1000) };
      const sent = await sendWebhook(stack.web.url, pipeline, big);
      expect(sent.status).toBe(202);

      const update = await waitFor(() => updates.at(-1), (u) => u?.count === 1, 10_000, 'data_updated');
      expect(update?.lastEvent).toMatchObject({ id: sent.id, payload: null, payloadTruncated: true, payloadBytes: expect.any(Number) });
      expect(update?.lastEvent?.payloadBytes).toBeGreaterThan(MAX_LIVE_PAYLOAD_BYTES);
      const stats = await stack.api.stats(pipeline.id);
      expect(stats.lastEvent).toMatchObject({ id: sent.id, payload: null, payloadTruncated: true });
      const ack = await socket.emitWithAck('subscribe', { pipelineId: pipeline.id });
      expect(ack).toMatchObject({ ok: true, stats: { lastEvent: { payload: null, payloadTruncated: true } } });
      const events = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/events`);
      expect(events.body.items[0].payload).toEqual(big);
      expect(events.body.items[0]).not.toHaveProperty('payloadTruncated');
    });

    it('cuts a big last payload stored by an older version at read time', async () => {
      const pipeline = await stack.api.createPipeline();
      await storeDirectly(pipeline, 'old-big', JSON.stringify({ blob: 'y'.repeat(100_000) }));
      const stats = await stack.api.stats(pipeline.id);
      expect(stats.lastEvent).toMatchObject({ id: 'old-big', payload: null, payloadTruncated: true, payloadBytes: expect.any(Number) });
      expect(stats.lastEvent.payloadBytes).toBeGreaterThan(100_000);
    });
  });

  describe('pages bounded by size', () => {
    it('stops a page of events before 4 MiB and pages on with its cursor to the last event', async () => {
      const pipeline = await stack.api.createPipeline();
      // Twelve payloads of ~1 MB: a page of 500 would have been 12 MB.
      const blob = 'z'.repeat(1_000_000);
      for (let i = 0; i < 12; i++) await storeDirectly(pipeline, `big${String(i).padStart(2, '0')}`, JSON.stringify({ i, blob }), new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), false);
      const seen: string[] = [];
      let next: string | null = null;
      let pages = 0;
      do {
        const response = await fetch(`${stack.web.url}/api/pipelines/${pipeline.id}/events?limit=500${next ? `&before=${next}` : ''}`, { headers: { authorization: `Bearer ${stack.api.token}` } });
        const text = await response.text();
        expect(response.status).toBe(200);
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_PAGE_BYTES);
        const page = JSON.parse(text) as { items: Array<{ id: string; payload: { blob: string } }>; next: string | null };
        expect(page.items.length).toBeGreaterThan(0);
        for (const item of page.items) expect(item.payload.blob).toHaveLength(blob.length);
        seen.push(...page.items.map((item) => item.id));
        next = page.next;
        pages += 1;
      } while (next && pages < 20);
      expect(pages).toBeGreaterThanOrEqual(3);
      expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => `big${String(11 - i).padStart(2, '0')}`));
    });

    it('stops a page of failures before 4 MiB and pages on with its cursor', async () => {
      const pipeline = await stack.api.createPipeline();
      const blob = 'f'.repeat(1_000_000);
      for (let i = 0; i < 10; i++) {
        const record = JSON.stringify({ pipelineId: pipeline.id, id: `f${i}`, type: null, occurredAt: 0, receivedAt: 0, payload: { blob } });
        await queryDb(env, `INSERT INTO ingest_failures (pipeline_id, event_id, event, reason, created_at) VALUES ($1, $2, $3, 'test', now() - make_interval(secs => $4))`, [pipeline.id, `f${i}`, record, i]);
      }
      const seen: string[] = [];
      let next: string | null = null;
      let pages = 0;
      do {
        const response = await fetch(`${stack.web.url}/api/pipelines/${pipeline.id}/failures?limit=1000${next ? `&before=${next}` : ''}`, { headers: { authorization: `Bearer ${stack.api.token}` } });
        const text = await response.text();
        expect(response.status).toBe(200);
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_PAGE_BYTES);
        const page = JSON.parse(text) as { items: Array<{ id: string }>; total: number; next: string | null };
        expect(page.total).toBe(10);
        seen.push(...page.items.map((item) => item.id));
        next = page.next;
        pages += 1;
      } while (next && pages < 20);
      expect(pages).toBeGreaterThanOrEqual(3);
      expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `f${i}`));
      expect((await stack.api.request('GET', `/api/pipelines/${pipeline.id}/failures?before=${cursor('2026-01-01T00:00:00.000000Z', '99999999999999999999')}`)).status).toBe(400);
    });
  });

  describe('searches do bounded work', () => {
    it('answers a payload search over 25 000 events in partial pages whose cursors find every match', async () => {
      const pipeline = await stack.api.createPipeline();
      // Every 5 000th event (n0, n5000, …) is customer cus_1777; the newest is n24999.
      await queryDb(
        env,
        `INSERT INTO events (pipeline_id, event_id, type, occurred_at, received_at, payload)
         SELECT $1, 'n' || i, 't', timestamptz '2026-01-01' + i * interval '1 second', now(), jsonb_build_object('data', jsonb_build_object('customer', CASE WHEN i % 5000 = 0 THEN 'cus_1777' ELSE 'c' || i END))
         FROM generate_series(0, 24999) i`,
        [pipeline.id],
      );
      const pages: Array<{ items: Array<{ id: string }>; next: string | null; partial: boolean }> = [];
      let next: string | null = null;
      do {
        const response = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/events?where=data.customer%3Dcus_1777&limit=50${next ? `&before=${next}` : ''}`);
        expect(response.status).toBe(200);
        pages.push(response.body);
        next = response.body.next;
      } while (next && pages.length < 10);
      // 10 000 events examined a request: three requests, the first two partial.
      expect(pages.map((page) => page.partial)).toEqual([true, true, false]);
      expect(pages.flatMap((page) => page.items.map((item) => item.id))).toEqual(['n20000', 'n15000', 'n10000', 'n5000', 'n0']);
      // An id that is not there: the same bound, never the whole pipeline in one request.
      const absent = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/events?eventId=nope`);
      expect(absent.body).toMatchObject({ items: [], partial: true, next: expect.any(String) });
    });
  });

  describe('query parameters out of range answer 400, not 500', () => {
    it.each([
      ['a sequence over 2^63-1', cursor('2026-01-01T00:00:00.000Z', '9223372036854775808')],
      ['a sequence of 19 nines', cursor('2026-01-01T00:00:00.000Z', '9999999999999999999')],
      ['a time before PostgreSQL’s range', cursor('-271821-04-20T00:00:00.000Z', '1')],
      ['year zero', cursor('0000-01-01T00:00:00.000Z', '1')],
      ['a time after year 9999', cursor('+275760-09-13T00:00:00.000Z', '1')],
      ['a time PostgreSQL cannot parse', cursor('Tue Mar 01 2022', '1')],
    ])('refuses a before cursor with %s', async (_label, before) => {
      const pipeline = await stack.api.createPipeline();
      const response = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/events?before=${before}`);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'invalid_request' });
    });

    it.each([
      ['no path', 'where=%3D1'],
      ['no =', 'where=data.customer'],
      ['an empty key', 'where=data..customer%3D1'],
      ['more than 8 filters', Array.from({ length: 9 }, (_, i) => `where=k${i}%3D1`).join('&')],
      ['a NUL byte', 'where=a%3Db%00'],
    ])('refuses a where filter with %s', async (_label, query) => {
      const pipeline = await stack.api.createPipeline();
      const response = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/events?${query}`);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'invalid_request', message: expect.stringContaining('where') });
    });

    it('refuses a type with a NUL byte', async () => {
      const pipeline = await stack.api.createPipeline();
      const response = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/events?type=a%00b`);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'invalid_request' });
    });
  });

  describe('socket clients', () => {
    it(`disconnects a socket sending more than ${MAX_SOCKET_COMMANDS_PER_SECOND} subscribes a second`, async () => {
      const pipeline = await stack.api.createPipeline();
      const socket = await viewer();
      const disconnected = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
      for (let i = 0; i < MAX_SOCKET_COMMANDS_PER_SECOND * 3; i++) socket.emit('subscribe', { pipelineId: pipeline.id }, () => undefined);
      expect(await disconnected).toBe('io server disconnect');
      // A well-behaved client is served as before.
      const calm = await viewer();
      expect(await calm.emitWithAck('subscribe', { pipelineId: pipeline.id })).toMatchObject({ ok: true });
    });
  });

  describe('a socket that stops reading', () => {
    it('is disconnected once its unsent output passes the bound, and others are served', async () => {
      const pipeline = await stack.api.createPipeline();
      const socket = await viewer();
      expect(await socket.emitWithAck('subscribe', { pipelineId: pipeline.id })).toMatchObject({ ok: true });
      const gateway = stack.web.app.get(LiveGateway);
      const countBefore = gateway.socketCount;
      // The viewer's process stops reading its TCP socket (a frozen tab, a client that never reads).
      (socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void } } }).ws._socket.pause();
      // Output piles up for it: 24 updates of 1 MB, more than the kernel's buffers hold.
      const big = { pipelineId: pipeline.id, count: 1, version: 1, lastEventAt: null, emittedAt: new Date().toISOString(), committedAt: new Date().toISOString(), lastEvent: { id: 'x', type: null, occurredAt: '', receivedAt: '', payload: { blob: 'q'.repeat(1_000_000) } } };
      for (let i = 0; i < 24; i++) gateway.server.to(`pipeline:${pipeline.id}`).emit('data_updated', { ...big, version: i + 1 });
      await waitFor(() => gateway.socketCount, (n) => n === countBefore - 1, 15_000, 'the non-reading socket disconnected');
      const calm = await viewer();
      expect(await calm.emitWithAck('subscribe', { pipelineId: pipeline.id })).toMatchObject({ ok: true });
    });
  });

  describe('Svix-branded headers', () => {
    it('accepts a webhook signed by the svix package with svix-id, svix-timestamp and svix-signature', async () => {
      const pipeline = await stack.api.createPipeline();
      const body = JSON.stringify({ type: 'user.created', data: { id: 'u1' } });
      const msgId = `msg_${randomBytes(6).toString('hex')}`;
      const now = new Date();
      const signature = new SvixWebhook(pipeline.signingSecret).sign(msgId, now, body);
      const post = (headers: Record<string, string>) =>
        fetch(`${stack.web.url}/webhooks/${pipeline.id}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      const svixHeaders = { 'svix-id': msgId, 'svix-timestamp': String(Math.floor(now.getTime() / 1000)), 'svix-signature': signature };
      const response = await post(svixHeaders);
      expect(response.status).toBe(202);
      await waitFor(() => stored(pipeline.id), (n) => n === 1, 10_000, 'the svix event stored');
      const rows = await queryDb<{ event_id: string }>(env, 'SELECT event_id FROM events WHERE pipeline_id = $1', [pipeline.id]);
      expect(rows.map((row) => row.event_id)).toEqual([msgId]);
      // A wrong svix signature is refused like a wrong webhook-signature.
      const forged = await post({ ...svixHeaders, 'svix-signature': 'v1,' + Buffer.alloc(32).toString('base64') });
      expect(forged.status).toBe(401);
      expect(await forged.json()).toMatchObject({ error: 'invalid_signature' });
    });
  });
});
