import { testEnv, waitFor } from '../support/harness';
import { freePort, killAll, OwnRedis, sleep, spawnIngestor, type Proc } from '../support/processes';

interface Answer {
  status: number;
  body: { status?: string; error?: string; message?: string; failing?: string[] };
}

/**
 * The ingestor's `/health` and `/ready` on METRICS_PORT, under faults: the suite's own
 * redis-server is killed under it, and its own process is frozen (SIGSTOP) to stall its loop.
 */
describe('operations: ingestor health a platform can act on', () => {
  let redis: OwnRedis;
  let env: ReturnType<typeof testEnv>;
  let ingestor: Proc;
  let base: string;

  const get = async (path: string): Promise<Answer> => {
    const response = await fetch(`${base}${path}`);
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  };

  beforeAll(async () => {
    redis = await OwnRedis.start();
    env = testEnv('ingestorhealth', { REDIS_URL: redis.url });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    ingestor = await spawnIngestor({ ...env.env, METRICS_PORT: String(port) });
  });

  afterAll(async () => {
    await killAll([ingestor]);
    await redis?.stop();
    await env?.cleanup();
  });

  it('is ready with PostgreSQL and Redis up', async () => {
    expect(await get('/ready')).toEqual({ status: 200, body: { status: 'ready' } });
    expect(await get('/health')).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('names Redis in /ready while its Redis is down, and is ready again once it is back', async () => {
    await redis.crash();
    const down = await waitFor(() => get('/ready'), (a) => a.status === 503, 15_000, '/ready 503');
    expect(down.body).toMatchObject({ error: 'unavailable', message: expect.stringContaining('redis') });
    expect(down.body.failing?.some((f) => f.startsWith('redis:'))).toBe(true);
    expect(down.body.failing?.some((f) => f.startsWith('postgres:'))).toBe(false);
    // A short outage is ridden out: the process itself is still live.
    expect((await get('/health')).status).toBe(200);
    await redis.startAgain();
    await waitFor(() => get('/ready'), (a) => a.status === 200, 30_000, '/ready 200 again');
  });

  it('fails /health after its event loop stalled, naming the stall', async () => {
    // SIGSTOP freezes every thread: to the process, its loop did not turn for 6 s.
    ingestor.signal('SIGSTOP');
    await sleep(6000);
    ingestor.signal('SIGCONT');
    const unhealthy = await waitFor(() => get('/health'), (a) => a.status !== 200 || a.body.status === 'ok', 10_000, '/health answers');
    expect(unhealthy.status).toBe(503);
    expect(unhealthy.body.failing?.[0]).toMatch(/^event loop: stalled for \d+ ms/);
    expect(ingestor.alive).toBe(true);
  });
});
