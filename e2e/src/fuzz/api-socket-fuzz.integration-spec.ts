import { readFileSync } from 'node:fs';
import { io } from 'socket.io-client';
import { Api, connectViewer, sendWebhook, testEnv, waitFor, type CreatedPipeline, type Viewer } from '../support/harness';
import { killAll, spawnStack, type Proc, type WebProc } from '../support/processes';
import { rawHttp } from '../support/raw-http';
import { prng } from '../support/prng';

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const GENERATED_CASES = Number(process.env.FUZZ_CASES_API ?? 600);


const ODD_IDS = ['not-a-uuid', '00000000-0000-0000-0000-000000000000', "1' OR '1'='1", '%00', '%E2%80%AE', '..%2F..%2Fetc%2Fpasswd', 'a'.repeat(199), '%F0%9F%92%A9', '-1', '1e309', 'null', '%20', '{}', '[]', 'ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ'];
const ODD_QUERIES = ['', '?limit=abc', '?limit=-1', '?limit=99999999999999999999', '?limit=1&limit=2', '?before=%00', '?before=eyJ9', `?before=${'A'.repeat(3000)}`, '?type=', `?type=${'t'.repeat(600)}`, '?bucket=1y', '?bucket=1m&from=yesterday', '?from=2026-13-45T99:99:99Z&bucket=1h', '?to=-1&bucket=1d', '?__proto__[x]=1', '?limit[]=1'];
const ODD_BODIES: Array<string | undefined> = [undefined, '', 'null', '[]', '"str"', '{"name":', '{"name":null}', '{"name":"x","source":{"type":"poll","url":"http://127.0.0.1","intervalSeconds":-1}}', '{"name":"x","source":{"type":"martian"}}', `{"name":"${'n'.repeat(5000)}","source":{"type":"webhook"}}`, '{"__proto__":{"admin":true}}', '{"pipelines":["x"]}', '{"pipelines":[]}', `{"pipelines":${JSON.stringify(Array.from({ length: 5000 }, () => '00000000-0000-4000-8000-000000000000'))}}`, '{"eventIdPath":"a..b"}'];

/**
 * Bad input where the REST API and socket.io take it: malformed ids, odd queries and bodies,
 * oversized bodies and messages, subscribe floods, unknown events. Never a 5xx, never a crash,
 * and a well-behaved client is served all along.
 */
describe('bad input at the REST API and socket.io', () => {
  // Reads are not rate-limited here (hostile-readers covers the limit): every generated request reaches its route.
  const env = testEnv('fuzzapi', { API_READS_PER_SECOND: '1000000' });
  const procs: Proc[] = [];
  let web: WebProc;
  let api: Api;
  let pipeline: CreatedPipeline;
  const sockets: Viewer[] = [];

  beforeAll(async () => {
    const stack = await spawnStack(env.env);
    procs.push(...stack.procs);
    web = stack.web;
    api = new Api(web.url);
    pipeline = await api.createPipeline({ name: 'fuzz-api' });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await killAll(procs);
    await env.cleanup();
  });

  /** Bounded wait: a promise that never settles fails the test with a name instead of hanging it. */
  async function within<T>(promise: Promise<T>, label: string, ms = 10_000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no outcome for ${label} in ${ms} ms`)), ms)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function call(method: string, path: string, body?: string, token = api.token) {
    const response = await fetch(web.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body,
    });
    const text = await response.text();
    let json: { error?: string } | null = null;
    try {
      json = JSON.parse(text);
    } catch {
      // asserted below
    }
    return { status: response.status, json };
  }

  it(`answers ${GENERATED_CASES} generated odd API requests (seed ${SEED}) with 2xx/4xx JSON, never 5xx`, async () => {
    const random = prng(SEED);
    const routes: Array<[string, (id: string) => string]> = [
      ['GET', (id) => `/api/pipelines/${id}`],
      ['PATCH', (id) => `/api/pipelines/${id}`],
      ['DELETE', (id) => `/api/pipelines/${id}`],
      ['GET', (id) => `/api/pipelines/${id}/stats`],
      ['GET', (id) => `/api/pipelines/${id}/events`],
      ['GET', (id) => `/api/pipelines/${id}/series`],
      ['GET', (id) => `/api/pipelines/${id}/failures`],
      ['POST', (id) => `/api/pipelines/${id}/failures/replay`],
      ['POST', (id) => `/api/pipelines/${id}/rotate-secret`],
      ['POST', () => '/api/pipelines'],
      ['POST', () => '/api/tokens'],
      ['GET', () => '/api/pipelines'],
      ['PUT', (id) => `/api/pipelines/${id}`],
      ['GET', (id) => `/api/${id}`],
      ['GET', (id) => `/api/pipelines/${id}/rejections`],
      ['GET', (id) => `/api/pipelines/${id}/events?eventId=${id}`],
      ['GET', () => '/api/tokens'],
      ['DELETE', (id) => `/api/tokens/${id}`],
      ['GET', () => '/api/openapi.json'],
    ];
    const tokens = [api.token, '', 'dash_vt_forged', 'x'.repeat(500), 'Bearer', '\u00e9t\u00e9'];
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (next < GENERATED_CASES) {
          const index = next++;
          const [method, path] = random.pick(routes);
          // The real pipeline is left alone by destructive calls, so the good client below keeps working.
          const id = random.next() < 0.3 && method === 'GET' ? pipeline.id : random.pick(ODD_IDS);
          const url = path(id) + random.pick(ODD_QUERIES);
          const body = method === 'GET' || method === 'DELETE' ? undefined : random.pick(ODD_BODIES);
          const token = random.next() < 0.8 ? api.token : random.pick(tokens);
          const answer = await call(method, url, body, token).catch((error: Error) => ({ status: 0, json: { error: `network: ${error.message}` } }));
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const ok = answer.status >= 200 && answer.status < 500 && answer.json !== null && (answer.status < 300 || typeof answer.json.error === 'string');
          if (!ok) failures.push(`seed ${SEED} case ${index}: ${method} ${url.slice(0, 120)} body=${String(body).slice(0, 60)} → ${answer.status} ${JSON.stringify(answer.json)}`);
        }
      }),
    );
    process.stdout.write(`\n[fuzz] REST API: ${GENERATED_CASES} generated cases (seed ${SEED}); statuses ${[...statuses].sort().map(([s, n]) => `${s}×${n}`).join(' ')}\n`);
    expect(failures).toEqual([]);
    expect(web.alive).toBe(true);
    expect((await api.stats(pipeline.id)).pipelineId).toBe(pipeline.id);
  });

  it.each([
    ['an oversized JSON body (3 MB)', 413, () => call('POST', '/api/pipelines', JSON.stringify({ name: 'x'.repeat(3_000_000), source: { type: 'webhook' } }))],
    ['invalid JSON', 400, () => call('POST', '/api/pipelines', '{"name":')],
    ['a deeply nested JSON body', 400, () => call('POST', '/api/pipelines', '['.repeat(50_000) + ']'.repeat(50_000))],
    ['an unknown route', 404, () => call('GET', '/api/nothing-here')],
    ['a malformed id', 400, () => call('GET', '/api/pipelines/%ZZ')],
  ] as const)('answers %s with %i JSON', async (_name, status, send) => {
    const answer = await send();
    expect(answer.status).toBe(status);
    expect(typeof answer.json?.error).toBe('string');
  });

  it('answers an API request with a body that lies about its length with a 4xx, not a hang or a 5xx', async () => {
    const answer = await rawHttp(web.url, [`POST /api/pipelines HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${api.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"x"}`], { halfClose: true, waitMs: 3000 });
    expect(answer.status === null || (answer.status >= 400 && answer.status < 500)).toBe(true);
    expect(web.alive).toBe(true);
  });

  it('survives socket.io abuse: garbage subscribes, a subscribe flood, unknown events, oversized messages', async () => {
    const socket = await connectViewer(web.url, api.token);
    sockets.push(socket);
    const garbage: unknown[] = [null, 42, 'str', [], [pipeline.id], { pipelineId: 42 }, { pipelineId: 'x'.repeat(10_000) }, { pipelineId: { $ne: null } }, { pipelineId: `${pipeline.id}\u0000` }, { pipelineId: '../../etc' }];
    for (const request of garbage) expect(await socket.timeout(5000).emitWithAck('subscribe', request as { pipelineId: string })).toMatchObject({ ok: false });
    // A flood: 1000 subscribes at once, from a socket of its own: past 20 a second it is disconnected
    // (each subscribe is a database read and an ack), and no other socket notices.
    const flooder = await connectViewer(web.url, api.token);
    sockets.push(flooder);
    const flooded = within(new Promise<string>((resolve) => flooder.once('disconnect', (reason) => resolve(reason))), 'subscribe flood');
    for (let i = 0; i < 1000; i++) flooder.emit('subscribe', { pipelineId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }, () => undefined);
    expect(await flooded).toBe('io server disconnect');
    // Events the server does not know, with and without acknowledgements.
    const raw = socket as unknown as { emit: (event: string, ...args: unknown[]) => void };
    raw.emit('drop_tables', { all: true });
    raw.emit('__proto__', {});
    raw.emit('subscribe'); // no payload, no ack
    raw.emit('unsubscribe', 'nonsense');
    expect(await socket.timeout(5000).emitWithAck('unsubscribe', { pipelineId: 'nope' } as { pipelineId: string })).toEqual({ ok: false });

    // An oversized message closes that socket only.
    const big = await connectViewer(web.url, api.token);
    sockets.push(big);
    const closed = within(new Promise<string>((resolve) => big.once('disconnect', (reason) => resolve(reason))), 'oversized message');
    (big as unknown as { emit: (event: string, ...args: unknown[]) => void }).emit('subscribe', { pipelineId: 'x'.repeat(100_000) });
    expect(await closed).toMatch(/transport/);

    // Handshakes with odd auth are refused as unauthorized.
    for (const auth of [{ token: 42 }, { token: 'x'.repeat(100_000) }, { token: null }, {}]) {
      const attempt = io(web.url, { transports: ['websocket'], auth: auth as Record<string, unknown>, reconnection: false, forceNew: true });
      const outcome = await within(
        new Promise<string>((resolve) => {
          attempt.once('connect', () => resolve('connected'));
          attempt.once('connect_error', (error) => resolve(error.message));
          attempt.once('disconnect', (reason) => resolve(`disconnected: ${reason}`));
        }),
        'odd handshake',
      );
      attempt.disconnect();
      expect(outcome).not.toBe('connected');
    }

    // After all of it, the first socket still works end to end.
    expect(await socket.emitWithAck('subscribe', { pipelineId: pipeline.id })).toMatchObject({ ok: true });
    const counts: number[] = [];
    socket.on('data_updated', (update) => counts.push(update.count));
    expect((await sendWebhook(web.url, pipeline, { after: 'abuse' })).status).toBe(202);
    await waitFor(() => counts.at(-1), (count) => count === 1, 15_000, 'data_updated after the abuse');
    expect(procs.every((proc) => proc.alive)).toBe(true);
  });

  it('bounds what a viewer can make the web hold: pages of big events, big last payloads in acks, many subscribes', async () => {
    const big = await api.createPipeline({ name: 'fuzz-amplification' });
    // Twelve events of ~1 MB (the largest a webhook may be), and the last one's payload in the stats.
    for (let i = 0; i < 12; i++) {
      const sent = await sendWebhook(web.url, big, { i, timestamp: 1767225600 + i, blob: 'b'.repeat(1_000_000) });
      expect(sent.status).toBe(202);
    }
    await waitFor(() => api.stats(big.id), (stats) => stats.count === 12, 30_000, '12 big events stored');
    const rssBefore = rssOf(web.pid);
    // Six viewers asking for 500 events at once: every page stops before 4 MiB, with a cursor.
    const pages = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const response = await fetch(`${web.url}/api/pipelines/${big.id}/events?limit=500`, { headers: { authorization: `Bearer ${api.token}` } });
        const text = await response.text();
        return { status: response.status, bytes: Buffer.byteLength(text), next: (JSON.parse(text) as { next: string | null }).next };
      }),
    );
    for (const page of pages) expect(page).toMatchObject({ status: 200, next: expect.any(String) });
    for (const page of pages) expect(page.bytes).toBeLessThanOrEqual(4 * 1024 * 1024);
    // Acks carry no big payload: 15 subscribes (under the rate) bring back a few kB, not 15 MB.
    const socket = await connectViewer(web.url, api.token);
    sockets.push(socket);
    let ackBytes = 0;
    for (let i = 0; i < 15; i++) ackBytes += JSON.stringify(await socket.timeout(5000).emitWithAck('subscribe', { pipelineId: big.id })).length;
    expect(ackBytes).toBeLessThan(15 * 16 * 1024);
    // Memory stays bounded (before: +190 MB per page request, 1 GB for six).
    expect(rssOf(web.pid) - rssBefore).toBeLessThan(150 * 1024 * 1024);
    expect(procs.every((proc) => proc.alive)).toBe(true);
  });
});

/** Resident memory of a process, from /proc (Linux). */
function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}
