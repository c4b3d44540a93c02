import { Api, sendWebhook, testEnv, waitFor } from '../support/harness';
import { TcpProxy } from '@dash/infra/testing';
import { killAll, reconcile, runLoad, sleep, spawnIngestor, spawnWeb, type Proc, type WebProc } from '../support/processes';

const OUTAGE_MS = 20_000;

/**
 * PostgreSQL unreachable for 20 s under load. The shared server cannot be stopped while other
 * suites run, so the ingestor reaches it through a TCP proxy that the test cuts: every open
 * connection is destroyed and new ones are refused (ECONNREFUSED), as for a restarting or
 * unreachable database host. The web node talks to PostgreSQL directly, so the dashboard
 * side stays up (promise 3) while ingestion waits.
 */
describe('PostgreSQL unreachable for 20 s under load', () => {
  // A backlog limit the outage exceeds, so memory stays bounded by 429s rather than by luck.
  const env = testEnv('pgoutage', { INGEST_MAX_BACKLOG: '2000' });
  const procs: Proc[] = [];
  let proxy: TcpProxy;
  let web: WebProc;
  let ingestor: Proc;
  let api: Api;

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
    web = await spawnWeb(env.env, 'web');
    procs.push(web);
    ingestor = await spawnIngestor({ ...env.env, DATABASE_URL: proxy.urlFor(env.env.DATABASE_URL) }, 'ingestor');
    procs.push(ingestor);
    api = new Api(web.url);
  });

  afterAll(async () => {
    await killAll(procs);
    await proxy?.close();
    await env.cleanup();
  });

  it('retries with backoff, stops taking jobs, sheds with 429, keeps the API up, and stores every acknowledged event once', async () => {
    const pipeline = await api.createPipeline({ name: 'pg-outage' });
    const probe = await api.createPipeline({ name: 'pg-outage-probe' });
    let outage = null as Promise<{ health: number; ready: number; stats: number; webhook: number }> | null;

    const stats = await runLoad({
      targets: () => [web.url],
      pipeline,
      events: 8000,
      batch: 20,
      concurrency: 6,
      retries: 80,
      stop: () => !ingestor.alive,
      onAck: (acked) => {
        if (acked < 1000 || outage) return;
        outage = (async () => {
          await proxy.cut();
          await sleep(OUTAGE_MS / 2);
          // Mid-outage: the web node serves, the API reads, and intake still queues (until the backlog limit).
          const during = {
            health: (await fetch(`${web.url}/health`)).status,
            ready: (await fetch(`${web.url}/ready`)).status,
            stats: (await api.request('GET', `/api/pipelines/${pipeline.id}/stats`)).status,
            webhook: (await sendWebhook(web.url, probe, { probe: true }, { id: 'probe-during-outage' })).status,
          };
          await sleep(OUTAGE_MS / 2);
          await proxy.restore();
          return during;
        })();
      },
    });
    expect(outage).not.toBeNull();
    const during = await outage;
    expect(during).toMatchObject({ health: 200, ready: 200, stats: 200 });
    expect([202, 429]).toContain(during?.webhook);

    const result = await reconcile(env, pipeline.id, stats, 'PostgreSQL unreachable 20 s under load (TCP proxy cut)', 90_000);
    expect(result.acknowledged).toBe(result.sent);
    expect(result).toMatchObject({ lost: 0, duplicates: 0, unknown: 0 });
    // The backlog limit was reached during the outage: senders were told to come back later.
    expect(stats.statuses.get(429) ?? 0).toBeGreaterThan(0);
    // The ingestor waited for the database and stopped fetching jobs meanwhile, then resumed.
    expect(ingestor.alive).toBe(true);
    expect(ingestor.grep(/database unavailable .* retrying/).length).toBeGreaterThan(0);
    expect(ingestor.grep(/pausing intake/).length).toBeGreaterThan(0);
    await waitFor(() => ingestor.grep(/resuming intake/).length, (n) => n > 0, 10_000, 'intake resumed');
    if (during?.webhook === 202) await waitFor(() => api.stats(probe.id), (s) => s.count === 1, 15_000, 'probe stored');
  });
});
