import { IngestQueues, RedisKeys } from '@dash/infra';
import { Redis } from 'ioredis';
import { AlertReceiver } from '../support/alert-receivers';
import { Api, queryDb, REDIS_URL, sendWebhook, testEnv, waitFor, type CreatedPipeline } from '../support/harness';
import { killAll, sleep, spawnIngestor, spawnWeb, type Proc, type WebProc } from '../support/processes';

const PIPELINES = 10;
const ALERTS_PER_PIPELINE = 5;

/**
 * Alert evaluation and delivery against real process deaths: three built ingestors evaluate 50
 * alerts while one of them is killed with SIGKILL again and again (mid-round, mid-delivery,
 * between a commit and its enqueue) and replaced. Every episode of every alert still ends with
 * exactly one `firing` and one `resolved` notification, all delivered; a delivery repeated after
 * a kill carries the same webhook-id and body, so a receiver deduplicating per Standard Webhooks
 * sees it once.
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
    // Most of it is waiting: windows, and BullMQ's stall checks handing a killed ingestor's jobs on
    // (ingest: lock 10 s, checked every 5 s; deliveries: BullMQ's defaults, 30 s).
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
    // …and through the resolutions, events coming every 2 s. An ingestor killed mid-ingest holds its
    // job until its lock expires and a stall check hands it on (5–20 s, longer under load): no event
    // is stored meanwhile, so an alert may go quiet again and open a second episode. That is the
    // rule working; what must hold is that every episode is notified exactly once.
    awake = keepAwake(pipelines);
    await waitFor(
      () => queryDb<{ n: string }>(env, `SELECT count(DISTINCT alert_id) AS n FROM alert_notifications WHERE kind = 'resolved'`),
      (rows) => Number(rows[0].n) === alertIds.length,
      90_000,
      'every alert resolved',
    );
    const kills = await chaotic.stop();
    expect(kills).toBeGreaterThanOrEqual(2);

    // No more kills: stalled ingest and delivery jobs are taken over, events flow, every alert ends ok
    // and every notification is sent. An alert that went quiet a second time has flipped four times
    // (firing, resolved, firing, resolved): it ends `flapping` instead, quiet until it has been steady
    // for the flap window (a loaded host stalls ingest long enough for that).
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const ingest = IngestQueues.open(connection, new RedisKeys(env.name));
    try {
      await waitFor(
        async () => {
          const jobs = await ingest.jobCounts('active', 'waiting', 'delayed', 'prioritized');
          const [rules] = await queryDb<{ firing: string }>(env, `SELECT count(*) FILTER (WHERE state NOT IN ('ok', 'flapping')) AS firing FROM alert_rules`);
          const unsent = await queryDb<{ status: string; n: string }>(env, `SELECT status, count(*) AS n FROM alert_notifications WHERE status <> 'sent' GROUP BY status`);
          return { ingesting: Object.values(jobs).reduce((a, b) => a + b, 0), firing: Number(rules.firing), unsent };
        },
        (state) => state.ingesting === 0 && state.firing === 0 && state.unsent.length === 0,
        150_000,
        'every alert ok and every notification sent',
      );
    } finally {
      // A queue leaves the connection it was given open.
      await ingest.close();
      connection.disconnect();
    }
    await awake.stop();

    // Per alert: episodes 1..k, each with one firing and one resolved notification, no more; or, for
    // an alert that ended flapping, its last episode is the one `flapping` notification, and the
    // episode before it has no `resolved` (that flip is the one that made it flapping).
    const rows = await queryDb<{ id: string; alert_id: string; kind: string; episode: number }>(env, 'SELECT id, alert_id, kind, episode FROM alert_notifications');
    const states = new Map((await queryDb<{ id: string; state: string }>(env, 'SELECT id, state FROM alert_rules')).map((rule) => [rule.id, rule.state]));
    const perAlert = new Map<string, string[]>();
    for (const row of rows) perAlert.set(row.alert_id, [...(perAlert.get(row.alert_id) ?? []), `${row.episode}:${row.kind}`]);
    for (const id of alertIds) {
      const seen = (perAlert.get(id) ?? []).sort();
      const flapping = states.get(id) === 'flapping';
      const episodes = seen.length / 2;
      expect(episodes).toBeGreaterThanOrEqual(flapping ? 2 : 1);
      const pairs = Array.from({ length: episodes }, (_, e) => [`${e + 1}:firing`, `${e + 1}:resolved`]).flat();
      expect(seen).toEqual((flapping ? [...pairs.slice(0, -1), `${episodes + 1}:flapping`] : pairs).sort());
    }

    // Every notification arrived, signed; a repeat after a kill is the same message (same webhook-id).
    const expected = new Set(rows.map((row) => `alert_${row.id}`));
    await waitFor(() => new Set(receiver.received.map((r) => r.id)), (ids) => ids.size === expected.size, 30_000, 'all received');
    expect([...new Set(receiver.received.map((r) => r.id))].sort()).toEqual([...expected].sort());
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    const bodies = new Map<string, Set<string>>();
    for (const r of receiver.received) bodies.set(r.id, (bodies.get(r.id) ?? new Set()).add(JSON.stringify(r.body)));
    expect([...bodies.values()].every((sent) => sent.size === 1)).toBe(true);
  }, 300_000);
});
