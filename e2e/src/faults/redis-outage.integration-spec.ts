import { Api, connectViewer, sendWebhook, testEnv, waitFor, type Viewer } from '../support/harness';
import { killAll, OwnRedis, reconcile, runLoad, sleep, spawnApp, spawnIngestor, spawnWeb, type Proc, type WebProc } from '../support/processes';

/**
 * Redis away: the suite runs its own redis-server (AOF with appendfsync always, the setting
 * under which a Redis crash loses no acknowledged event), crashes it with kill -9 in the middle
 * of a stream, and starts it again on the same port and data directory.
 */
describe('Redis unavailable', () => {
  let redis: OwnRedis;
  const procs: Proc[] = [];
  let env: ReturnType<typeof testEnv>;
  let web: WebProc;
  let ingestor: Proc;
  let api: Api;
  const sockets: Viewer[] = [];

  beforeAll(async () => {
    redis = await OwnRedis.start(['--appendonly', 'yes', '--appendfsync', 'always']);
    env = testEnv('redisoutage', { REDIS_URL: redis.url });
    ingestor = await spawnIngestor(env.env, 'ingestor');
    procs.push(ingestor);
    web = await spawnWeb(env.env, 'web');
    procs.push(web);
    api = new Api(web.url);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await killAll(procs);
    await redis?.stop();
    await env?.cleanup();
  });

  it('answers 503 with Retry-After (never 202), keeps /health, pages and the API up, recovers by itself, and loses nothing', async () => {
    const pipeline = await api.createPipeline({ name: 'redis-outage' });
    const probe = await api.createPipeline({ name: 'redis-outage-probe' });
    let outage = null as Promise<Record<string, unknown>> | null;

    const stats = await runLoad({
      targets: () => [web.url],
      pipeline,
      events: 4000,
      batch: 20,
      concurrency: 6,
      retries: 80,
      onAck: (acked) => {
        if (acked < 1000 || outage) return;
        outage = (async () => {
          await redis.crash();
          await sleep(1500);
          const webhooks = [];
          for (let i = 0; i < 10; i++) {
            const response = await sendWebhook(web.url, probe, { i }, { id: `during-${i}` });
            webhooks.push({ status: response.status, error: response.body?.error, retryAfter: response.headers.get('retry-after') });
          }
          const ready = await fetch(`${web.url}/ready`);
          const page = await fetch(`${web.url}/`);
          const during = {
            webhooks,
            ready: ready.status,
            readyBody: await ready.json(),
            health: (await fetch(`${web.url}/health`)).status,
            page: page.status,
            pageType: page.headers.get('content-type'),
            stats: (await api.request('GET', `/api/pipelines/${pipeline.id}/stats`)).status,
          };
          await sleep(3000);
          await redis.startAgain();
          return during;
        })();
      },
    });
    expect(outage).not.toBeNull();
    const during = (await outage) as any;
    for (const answer of during.webhooks) expect(answer).toEqual({ status: 503, error: 'unavailable', retryAfter: expect.stringMatching(/^\d+$/) });
    expect(during.ready).toBe(503);
    expect(during.readyBody).toMatchObject({ error: 'unavailable', message: expect.stringContaining('redis') });
    expect(during.health).toBe(200);
    expect(during.stats).toBe(200);
    // The dashboard page reads PostgreSQL only; it is served while Redis is away.
    expect(during.page).toBe(200);
    expect(during.pageType).toContain('text/html');

    const result = await reconcile(env, pipeline.id, stats, 'Redis crashed (kill -9) mid-stream and restarted (AOF, appendfsync always)', 90_000);
    expect(result.acknowledged).toBe(result.sent);
    expect(result).toMatchObject({ lost: 0, duplicates: 0, unknown: 0 });
    expect(stats.statuses.get(503) ?? 0).toBeGreaterThan(0);
    expect(await api.stats(probe.id)).toMatchObject({ count: 0 });

    // Recovered by itself: ready again, intake accepts, and live updates flow through the adapter.
    await waitFor(() => fetch(`${web.url}/ready`).then((r) => r.status), (status) => status === 200, 20_000, '/ready 200 after Redis is back');
    const socket = await connectViewer(web.url, api.token);
    sockets.push(socket);
    expect(await socket.emitWithAck('subscribe', { pipelineId: probe.id })).toMatchObject({ ok: true });
    const updates: number[] = [];
    socket.on('data_updated', (update) => updates.push(update.count));
    const after = await waitFor(() => sendWebhook(web.url, probe, { after: true }, { id: 'after-recovery' }), (r) => r.status === 202, 20_000, 'webhook accepted after recovery');
    expect(after.body).toEqual({ accepted: 1 });
    await waitFor(() => updates.at(-1), (count) => count === 1, 15_000, 'data_updated after recovery');
    expect(web.alive && ingestor.alive).toBe(true);
  });
});

describe('Redis with an evicting maxmemory-policy', () => {
  let redis: OwnRedis;
  const procs: Proc[] = [];
  let env: ReturnType<typeof testEnv>;

  beforeAll(async () => {
    redis = await OwnRedis.start(['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']);
    env = testEnv('evicting', { REDIS_URL: redis.url });
  });

  afterAll(async () => {
    await killAll(procs);
    await redis?.stop();
    await env?.cleanup();
  });

  it.each(['ingestor', 'web'] as const)('the %s refuses to start, saying how to fix it', async (role) => {
    const proc = spawnApp(role, { ...env.env, PORT: '0' }, role);
    procs.push(proc);
    const exit = await proc.waitForExit(60_000);
    procs.splice(procs.indexOf(proc), 1); // exited as expected
    expect(exit.code).toBe(1);
    const output = proc.lines.join('\n');
    expect(output).toContain('maxmemory-policy is allkeys-lru');
    expect(output).toContain('CONFIG SET maxmemory-policy noeviction');
  });
});
