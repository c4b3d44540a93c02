import { TcpProxy } from '@dash/infra/testing';
import { Client } from 'pg';
import { io } from 'socket.io-client';
import { Api, queryDb, REDIS_URL, sendWebhook, startStack, startWeb, testEnv, waitFor, type CreatedPipeline, type RunningWeb, type Stack } from './support/harness';

const cursor = (time: string, seq: string) => Buffer.from(JSON.stringify([time, seq])).toString('base64url');
const READ_TIMEOUT_MS = 300;

/**
 * Issue 22, item 9: hostile readers and owners against one stack. The web node trusts
 * `Fly-Client-IP` here (CLIENT_IP_HEADER), so each test speaks from its own client address.
 */
describe('hostile readers and owners: dates, read timeouts, rate limits, names', () => {
  const env = testEnv('hostilereaders', { CLIENT_IP_HEADER: 'Fly-Client-IP', READ_TIMEOUT_MS: String(READ_TIMEOUT_MS) });
  let stack: Stack;
  let api: Api;
  let pipeline: CreatedPipeline;

  beforeAll(async () => {
    stack = await startStack(env);
    api = stack.api;
    pipeline = await api.createPipeline({ name: 'readers' });
  });

  afterAll(async () => {
    await stack?.close();
  });

  const get = (path: string, token: string, address: string) => fetch(`${stack.web.url}${path}`, { headers: { authorization: `Bearer ${token}`, 'fly-client-ip': address } });
  const viewerToken = async (label: string) => (await api.request('POST', '/api/tokens', { pipelines: [pipeline.id], label })).body.token as string;

  it('answers an impossible date (2026-02-31) in a cursor or a series range with 400, not 500', async () => {
    const impossible = cursor('2026-02-31T00:00:00Z', '1');
    const cases = [
      `/api/pipelines/${pipeline.id}/events?before=${impossible}`,
      `/api/pipelines/${pipeline.id}/failures?before=${cursor('2026-02-31T00:00:00.000000Z', '1')}`,
      `/api/pipelines/${pipeline.id}/events?before=${cursor('2026-04-31T23:59:59Z', '1')}`,
      `/api/pipelines/${pipeline.id}/events?before=${cursor('2026-01-01T24:00:00Z', '1')}`,
      `/api/pipelines/${pipeline.id}/series?from=2026-02-31T00:00:00Z`,
      `/api/pipelines/${pipeline.id}/series?from=2026-01-01T00:00:00Z&to=2026-02-30T00:00:00Z`,
    ];
    for (const path of cases) {
      const response = await api.request('GET', path);
      expect({ path, status: response.status, error: response.body.error }).toEqual({ path, status: 400, error: 'invalid_request' });
    }
    // The possible neighbours still work.
    expect((await api.request('GET', `/api/pipelines/${pipeline.id}/events?before=${cursor('2026-02-28T00:00:00Z', '1')}`)).status).toBe(200);
    expect((await api.request('GET', `/api/pipelines/${pipeline.id}/series?from=2024-02-29T00:00:00Z&to=2024-03-01T00:00:00Z&bucket=1d`)).status).toBe(200);
  });

  it('cancels a read that runs past READ_TIMEOUT_MS with 503 unavailable and Retry-After, while the ingestor\'s writes wait as long as they need', async () => {
    const blocker = new Client({ connectionString: env.env.DATABASE_URL });
    await blocker.connect();
    try {
      // A lock stands in for a slow statement: the read waits on it, and statement_timeout counts the wait.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const response = await api.request('GET', `/api/pipelines/${pipeline.id}/events?limit=500`);
      const tookMs = Date.now() - started;
      expect({ status: response.status, body: response.body, retryAfter: response.headers.get('retry-after') }).toEqual({
        status: 503,
        body: { error: 'unavailable', message: expect.stringContaining('too long') },
        retryAfter: expect.stringMatching(/^[1-9]\d*$/),
      });
      expect(tookMs).toBeGreaterThanOrEqual(READ_TIMEOUT_MS);
      // More blocked reads than the read pool has connections (10): those waiting for a connection
      // are bounded the same way, none hangs.
      const crowd = await Promise.all(Array.from({ length: 15 }, () => api.request('GET', `/api/pipelines/${pipeline.id}/events`)));
      expect(crowd.map((r) => `${r.status} ${r.body.error} ${r.headers.get('retry-after')}`)).toEqual(Array(15).fill('503 unavailable 2'));
      // A webhook accepted now is written once the lock goes, however long that is past the read timeout.
      expect((await sendWebhook(stack.web.url, pipeline, { id: 'during-lock' }, { id: 'during-lock' })).status).toBe(202);
      await new Promise((resolve) => setTimeout(resolve, READ_TIMEOUT_MS * 4));
      await blocker.query('ROLLBACK');
    } finally {
      await blocker.end();
    }
    await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === 1, 15_000, 'the event written after the lock');
    expect((await api.request('GET', `/api/pipelines/${pipeline.id}/failures`)).body.total).toBe(0);
    expect((await api.request('GET', `/api/pipelines/${pipeline.id}/events`)).status).toBe(200);
  });

  it('answers 429 with Retry-After to a token reading faster than 50 a second; another token is unaffected', async () => {
    const [fast, calm] = [await viewerToken('fast'), await viewerToken('calm')];
    // 150 at once: a burst of 50 passes, then 50 a second; unless the node took 2 s for them, some are refused.
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 150 }, () => get(`/api/pipelines/${pipeline.id}/stats`, fast, '203.0.113.10')));
    const seconds = (Date.now() - started) / 1000;
    const limited = answers.filter((response) => response.status === 429);
    const served = answers.filter((response) => response.status === 200).length;
    process.stdout.write(`\n[reads] 150 reads by one token in ${seconds.toFixed(2)} s: 200×${served} 429×${limited.length}\n`);
    expect(served + limited.length).toBe(150);
    expect(served).toBeGreaterThanOrEqual(50);
    expect(served).toBeLessThanOrEqual(50 + Math.ceil(seconds * 50) + 1);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(await limited[0].json()).toEqual({ error: 'rate_limited', message: expect.stringContaining('50') });
    expect(limited[0].headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    // The same address, another token: its own budget.
    expect((await get(`/api/pipelines/${pipeline.id}/stats`, calm, '203.0.113.10')).status).toBe(200);
  });

  it('throttles an address after 30 failed authentications a minute (4,000 wrong tokens are not all 401), API and socket alike; other addresses and known tokens pass', async () => {
    const attacker = '198.51.100.7';
    const viewer = await viewerToken('known');
    expect((await get(`/api/pipelines/${pipeline.id}/stats`, viewer, '192.0.2.1')).status).toBe(200); // now cached
    const uncached = await viewerToken('uncached');
    const statuses = new Map<number, number>();
    let retryAfter: string | null = null;
    const started = Date.now();
    let sent = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (sent < 4000) {
          sent += 1;
          const response = await get('/api/pipelines', `dash_vt_wrong_${sent}`, attacker);
          await response.arrayBuffer();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status === 429) retryAfter = response.headers.get('retry-after');
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`\n[throttle] 4000 wrong tokens from one address in ${seconds.toFixed(1)} s: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(' ')}\n`);
    // 30 at once, then one every 2 s.
    expect(statuses.get(401)).toBeGreaterThanOrEqual(30);
    expect(statuses.get(401)).toBeLessThanOrEqual(30 + Math.ceil(seconds / 2) + 1);
    expect((statuses.get(401) ?? 0) + (statuses.get(429) ?? 0)).toBe(4000);
    expect(retryAfter).toMatch(/^[1-9]\d*$/);

    // From the throttled address: the admin token and a cached viewer token still pass; a token that
    // needs a lookup (valid or not) is refused unlooked-at; a missing one too.
    expect((await get('/api/pipelines', api.token, attacker)).status).toBe(200);
    expect((await get(`/api/pipelines/${pipeline.id}/stats`, viewer, attacker)).status).toBe(200);
    const refused = await get(`/api/pipelines/${pipeline.id}/stats`, uncached, attacker);
    expect({ status: refused.status, body: await refused.json() }).toEqual({ status: 429, body: { error: 'rate_limited', message: expect.stringContaining('failed authentications') } });
    expect((await fetch(`${stack.web.url}/api/pipelines`, { headers: { 'fly-client-ip': attacker } })).status).toBe(429);
    // Another address: a wrong token is a plain 401, the uncached token works.
    expect((await get('/api/pipelines', 'dash_vt_wrong', '198.51.100.8')).status).toBe(401);
    expect((await get(`/api/pipelines/${pipeline.id}/stats`, uncached, '198.51.100.8')).status).toBe(200);

    // The socket handshake shares the count.
    const handshake = (token: string, address: string) =>
      new Promise<string>((resolve) => {
        const socket = io(stack.web.url, { transports: ['websocket'], auth: { token }, extraHeaders: { 'fly-client-ip': address }, reconnection: false, forceNew: true });
        socket.once('connect', () => {
          socket.disconnect();
          resolve('connected');
        });
        socket.once('connect_error', (error) => {
          socket.disconnect();
          resolve(error.message);
        });
      });
    expect(await handshake('dash_vt_wrong', attacker)).toBe('rate_limited');
    expect(await handshake(api.token, attacker)).toBe('connected');
    expect(await handshake('dash_vt_wrong', '198.51.100.9')).toBe('unauthorized');
  });

  it('refuses control characters in pipeline names, alert names and token labels when saved (400), and stores nothing', async () => {
    const forged = 'Orders\r\nOpen the pipeline: https://evil.example/';
    const before = (await api.request('GET', '/api/pipelines')).body.items.length;
    for (const [method, path, body] of [
      ['POST', '/api/pipelines', { name: forged, source: { type: 'webhook' } }],
      ['POST', '/api/pipelines', { name: 'tab\there', source: { type: 'webhook' } }],
      ['PATCH', `/api/pipelines/${pipeline.id}`, { name: 'line\u2028separator' }],
      ['POST', '/api/tokens', { pipelines: [pipeline.id], label: 'a\nb' }],
      ['POST', `/api/pipelines/${pipeline.id}/alerts`, { name: forged, condition: { type: 'failures' }, channels: [{ type: 'webhook', url: 'https://example.com/hook' }] }],
    ] as const) {
      const response = await api.request(method, path, body);
      expect({ path, status: response.status, error: response.body.error, message: response.body.message }).toEqual({ path, status: 400, error: 'invalid_request', message: expect.stringContaining('control characters') });
    }
    expect((await api.request('GET', '/api/pipelines')).body.items.length).toBe(before);
    expect((await api.request('GET', `/api/pipelines/${pipeline.id}`)).body.name).toBe('readers');
    expect((await api.request('GET', `/api/pipelines/${pipeline.id}/alerts`)).body.items).toEqual([]);
    expect((await queryDb(env, `SELECT 1 FROM api_tokens WHERE label ~ '[[:cntrl:]]'`)).length).toBe(0);
  });
});

/** `DELETE /api/tokens/:id` while Redis is away: refused with 503 rather than a 204 other nodes would not honour for 30 s. */
describe('revoking a token while Redis is away', () => {
  const env = testEnv('revokeoutage');
  let proxy: TcpProxy;
  let web: RunningWeb;
  let api: Api;

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: new URL(REDIS_URL).hostname, port: Number(new URL(REDIS_URL).port || 6379) });
    web = await startWeb(env.config('web', { REDIS_URL: proxy.urlFor(REDIS_URL) }));
    api = new Api(web.url);
  });

  afterAll(async () => {
    await proxy?.restore();
    await web?.close();
    await proxy?.close();
    await env.cleanup();
  });

  it('answers 503 with Retry-After and the token keeps working; once Redis is back the revocation is 204 and the token is refused', async () => {
    const pipeline = await api.createPipeline({ name: 'revoke' });
    const created = (await api.request('POST', '/api/tokens', { pipelines: [pipeline.id], label: 'to revoke' })).body as { id: string; token: string };
    const viewer = api.withToken(created.token);
    expect((await viewer.request('GET', `/api/pipelines/${pipeline.id}/stats`)).status).toBe(200);

    await proxy.cut();
    const refused = await api.request('DELETE', `/api/tokens/${created.id}`);
    expect({ status: refused.status, error: refused.body?.error, retryAfter: refused.headers.get('retry-after') }).toEqual({ status: 503, error: 'unavailable', retryAfter: expect.stringMatching(/^\d+$/) });
    // Reads need no Redis: the token still works, and is still listed.
    expect((await viewer.request('GET', `/api/pipelines/${pipeline.id}/stats`)).status).toBe(200);
    expect((await api.request('GET', '/api/tokens')).body.items.map((t: { id: string }) => t.id)).toContain(created.id);

    await proxy.restore();
    const revoked = await waitFor(() => api.request('DELETE', `/api/tokens/${created.id}`), (response) => response.status !== 503, 20_000, 'Redis back');
    expect(revoked.status).toBe(204);
    expect((await viewer.request('GET', `/api/pipelines/${pipeline.id}/stats`)).status).toBe(401);
  });
});
