import { AlertReceiver } from '../support/alert-receivers';
import { Api, queryDb, sendWebhook, testEnv, waitFor, type CreatedPipeline } from '../support/harness';
import { killAll, sleep, spawnIngestor, spawnWeb, type Proc, type WebProc } from '../support/processes';

const PIPELINES = 10;
const ALERTS_PER_PIPELINE = 5;

/**
 * Alert evaluation and delivery against real process deaths: two built ingestors evaluate 200
 * alerts while one or the other is killed with SIGKILL again and again (mid-round, mid-delivery,
 * between a commit and its enqueue) and restarted. Every alert still ends with exactly one
 * `firing` and one `resolved` notification, all delivered; a delivery repeated after a kill
 * carries the same webhook-id, so a receiver deduplicating per Standard Webhooks sees it once.
 */
describe('alerts under kill -9: no notification lost, none doubled', () => {
  const env = testEnv('alertkill', { OUTBOUND_ALLOW_PRIVATE: 'true', ALERT_RETRY_BASE_MS: '100' });
  const procs: Proc[] = [];
  const receiver = new AlertReceiver();
  let web: WebProc;
  let api: Api;
  let faults: { stop: () => Promise<number> } | null = null;
  let awake: { stop: () => Promise<void> } | null = null;

  const ingestor = async (name: string) => {
    const proc = await spawnIngestor(env.env, name);
    procs.push(proc);
    return proc;
  };

  beforeAll(async () => {
    await receiver.start();
    await ingestor('ingestor-a');
    await ingestor('ingestor-b');
    await ingestor('ingestor-c');
    web = await spawnWeb(env.env, 'web');
    procs.push(web);
    api = new Api(web.url);
  });

  afterAll(async () => {
    await awake?.stop();
    await faults?.stop();
    await killAll(procs);
    await env.cleanup();
    await receiver.stop();
  });

  /** Kills a live ingestor with SIGKILL and starts a new one, every 0.5–1.5 s, until `stop()`. */
  function chaos(): { stop: () => Promise<number> } {
    let running = true;
    let kills = 0;
    const starting: Array<Promise<Proc | null>> = [];
    const loop = (async () => {
      let round = 0;
      while (running) {
        await sleep(500 + Math.random() * 1000);
        if (!running) break;
        // Only ingestors that run (have taken work); the replacement starts while the others carry on.
        const live = procs.filter((proc) => proc.name.startsWith('ingestor') && proc.alive && proc.grep(/ingestor .* running/).length > 0);
        if (live.length < 2) continue;
        const victim = live[Math.floor(Math.random() * live.length)];
        await victim.kill9();
        kills += 1;
        // A replacement killed by the suite's end before it ran is no failure of this test.
        starting.push(ingestor(`ingestor-r${round++}`).catch(() => null));
      }
    })();
    return (faults = {
      stop: async () => {
        running = false;
        await loop;
        await Promise.all(starting);
        return kills;
      },
    });
  }

  /** Sends one event to every pipeline every 2 s until `stop()`. */
  function keepAwake(pipelines: CreatedPipeline[]): { stop: () => Promise<void> } {
    let running = true;
    const loop = (async () => {
      for (let n = 0; running; n++) {
        await Promise.all(pipelines.map((pipeline) => sendWebhook(web.url, pipeline, { id: `wake-${n}`, type: 'x' }).catch(() => null)));
        await sleep(2000);
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
      },
    };
  }

  it('every alert fires and resolves exactly once while ingestors are killed', async () => {
    // Most of it is waiting: windows, and BullMQ's stall check (30 s) handing a killed ingestor's jobs on.
    const pipelines: CreatedPipeline[] = [];
    const alertIds: string[] = [];
    for (let p = 0; p < PIPELINES; p++) {
      const pipeline = await api.createPipeline({ name: `kill-${p}` });
      pipelines.push(pipeline);
    }
    const chaotic = chaos();
    for (const [p, pipeline] of pipelines.entries()) {
      for (let a = 0; a < ALERTS_PER_PIPELINE; a++) {
        const { status, body } = await api.request('POST', `/api/pipelines/${pipeline.id}/alerts`, {
          name: `quiet-${p}-${a}`,
          condition: { type: 'silence', seconds: 10 },
          channels: [{ type: 'webhook', url: `${receiver.url}/hook` }],
        });
        expect(status).toBe(201);
        receiver.secrets.set(body.id, body.signingSecret);
        alertIds.push(body.id);
      }
    }

    // Through the firings (10 s after creation)…
    await waitFor(
      () => queryDb<{ n: string }>(env, `SELECT count(*) AS n FROM alert_rules WHERE state = 'firing'`),
      (rows) => Number(rows[0].n) === alertIds.length,
      90_000,
      'every alert firing',
    );
    // …and through the resolutions: events keep coming, so no alert goes quiet (and fires) again.
    awake = keepAwake(pipelines);
    await waitFor(
      () => queryDb<{ n: string }>(env, `SELECT count(*) AS n FROM alert_rules WHERE state = 'ok'`),
      (rows) => Number(rows[0].n) === alertIds.length,
      90_000,
      'every alert resolved',
    );

    // Stalled deliveries of killed ingestors are taken over (BullMQ's stall check) and settle.
    await waitFor(
      () => queryDb<{ status: string; n: string }>(env, `SELECT status, count(*) AS n FROM alert_notifications GROUP BY status`),
      (rows) => rows.length === 1 && rows[0].status === 'sent' && Number(rows[0].n) === alertIds.length * 2,
      150_000,
      'every notification sent',
    );
    const kills = await chaotic.stop();
    await awake?.stop();
    expect(kills).toBeGreaterThanOrEqual(2);
    const rows = await queryDb<{ alert_id: string; kind: string; episode: number }>(env, 'SELECT alert_id, kind, episode FROM alert_notifications');
    const perAlert = new Map<string, string[]>();
    for (const row of rows) perAlert.set(row.alert_id, [...(perAlert.get(row.alert_id) ?? []), `${row.episode}:${row.kind}`]);
    for (const id of alertIds) expect((perAlert.get(id) ?? []).sort()).toEqual(['1:firing', '1:resolved']);

    // Every notification arrived, signed; any repeat is the same message (same webhook-id).
    await waitFor(() => new Set(receiver.received.map((r) => `${r.body.alert.id}:${r.body.type}`)).size, (n) => n === alertIds.length * 2, 30_000, 'all received');
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    const idsPerMessage = new Map<string, Set<string>>();
    for (const r of receiver.received) {
      const key = `${r.body.alert.id}:${r.body.type}`;
      idsPerMessage.set(key, (idsPerMessage.get(key) ?? new Set()).add(r.id));
    }
    expect([...idsPerMessage.values()].every((ids) => ids.size === 1)).toBe(true);
  }, 300_000);
});
