import { Api, queryDb, testEnv } from '../support/harness';
import { killAll, reconcile, runLoad, sleep, spawnIngestor, spawnWeb, type Proc, type WebProc } from '../support/processes';

/**
 * Promise 1 against real process deaths: the built apps run as child processes and are
 * killed (kill -9) or stopped (SIGTERM) in the middle of a stream of signed webhooks. After
 * each fault the suite reconciles sent, acknowledged, stored, duplicates and lost.
 */
describe('process faults: acknowledged events survive killed processes', () => {
  const env = testEnv('procfaults');
  const procs: Proc[] = [];
  let web: WebProc;
  let api: Api;

  async function ingestor(name: string): Promise<Proc> {
    const proc = await spawnIngestor(env.env, name);
    procs.push(proc);
    return proc;
  }

  async function webNode(name: string): Promise<WebProc> {
    const proc = await spawnWeb(env.env, name);
    procs.push(proc);
    return proc;
  }

  beforeAll(async () => {
    // The first process creates and migrates the suite's database.
    await ingestor('ingestor-0');
    web = await webNode('web-0');
    api = new Api(web.url);
  });

  afterAll(async () => {
    await killAll(procs);
    await env.cleanup();
  });

  const live = (list: Proc[]) => list.filter((proc) => proc.alive);

  it('kill -9 of the ingestor mid-stream, then a restart: nothing lost, nothing stored twice', async () => {
    const victim = live(procs).find((proc) => proc.name.startsWith('ingestor')) as Proc;
    const pipeline = await api.createPipeline({ name: 'kill-ingestor' });
    // Rollups by payload field ride in the same statement: they must come out exact too (issue 24).
    expect((await api.request('PATCH', `/api/pipelines/${pipeline.id}`, { dimensions: ['n'], measures: ['n'] })).status).toBe(200);
    let restarted: Promise<Proc> | null = null;
    const stats = await runLoad({
      targets: () => [web.url],
      pipeline,
      events: 4000,
      batch: 20,
      concurrency: 6,
      onAck: async (acked) => {
        if (acked >= 1200 && !restarted) {
          restarted = (async () => {
            await victim.kill9();
            await sleep(1000);
            return ingestor('ingestor-1');
          })();
        }
      },
    });
    expect(restarted).not.toBeNull();
    await restarted;
    const result = await reconcile(env, pipeline.id, stats, 'kill -9 ingestor mid-stream, restart');
    expect(result.acknowledged).toBe(result.sent);
    expect(result).toMatchObject({ lost: 0, duplicates: 0, unknown: 0 });
    const [truth] = await queryDb(env, `SELECT count(*)::int AS events, sum((payload->>'n')::numeric)::text AS total FROM events WHERE pipeline_id = $1`, [pipeline.id]);
    for (const table of ['dimension_rollup_1m', 'dimension_rollup_1h']) {
      const [rolled] = await queryDb(env, `SELECT sum(count)::int AS events, sum(sums[array_position(measures, 'n')])::text AS total FROM ${table} WHERE pipeline_id = $1 AND dimension = 'type'`, [pipeline.id]);
      expect(rolled).toEqual(truth);
    }
    // 4,000 distinct values of n: per hour, the named ones are exactly the admitted ones, at most 1,000; the rest (other).
    const hours = await queryDb<{ admitted: number; named: number; events: number }>(
      env,
      `SELECT (SELECT count(*) FROM dimension_values v WHERE v.pipeline_id = $1 AND v.dimension = 'n' AND v.hour = r.bucket)::int AS admitted,
         (count(DISTINCT value) FILTER (WHERE value <> '(other)'))::int AS named, sum(count)::int AS events
       FROM dimension_rollup_1h r WHERE pipeline_id = $1 AND dimension = 'n' GROUP BY bucket`,
      [pipeline.id],
    );
    expect(hours.reduce((sum, hour) => sum + hour.events, 0)).toBe(truth.events);
    for (const hour of hours) {
      expect(hour.named).toBe(hour.admitted);
      expect(hour.admitted).toBeLessThanOrEqual(1000);
    }
    if (hours.length === 1) expect(hours[0].admitted).toBe(1000);
  });

  it('SIGTERM of the ingestor: stops taking jobs, flushes, closes in order and exits; the rest waits in the queue', async () => {
    const victim = live(procs).find((proc) => proc.name.startsWith('ingestor')) as Proc;
    const pipeline = await api.createPipeline({ name: 'sigterm-ingestor' });
    let stopped: Promise<unknown> | null = null;
    const stats = await runLoad({
      targets: () => [web.url],
      pipeline,
      events: 3000,
      batch: 20,
      concurrency: 6,
      onAck: (acked) => {
        if (acked >= 1000 && !stopped) {
          victim.signal('SIGTERM');
          stopped = victim.waitForExit(30_000);
        }
      },
    });
    expect(await stopped).toEqual({ code: 0, signal: null });
    const steps = victim.grep(/shutdown [1-5]\/5/).map((line) => Number(/shutdown ([1-5])\/5/.exec(line)?.[1]));
    expect(steps).toEqual([1, 2, 3, 4, 5]);
    // Events acknowledged after the SIGTERM wait in Redis for the next ingestor.
    await ingestor('ingestor-2');
    const result = await reconcile(env, pipeline.id, stats, 'SIGTERM ingestor mid-stream, then a new one');
    expect(result.acknowledged).toBe(result.sent);
    expect(result).toMatchObject({ lost: 0, duplicates: 0, unknown: 0 });
  });

  it('two ingestors, one killed with kill -9: the survivor drains the queue', async () => {
    await ingestor('ingestor-3');
    const [victim, survivor] = live(procs).filter((proc) => proc.name.startsWith('ingestor'));
    const pipeline = await api.createPipeline({ name: 'two-ingestors' });
    let killed: Promise<void> | null = null;
    const stats = await runLoad({
      targets: () => [web.url],
      pipeline,
      events: 4000,
      batch: 20,
      concurrency: 6,
      onAck: (acked) => {
        if (acked >= 1200 && !killed) killed = victim.kill9();
      },
    });
    await killed;
    const result = await reconcile(env, pipeline.id, stats, 'two ingestors, one kill -9, survivor drains');
    expect(survivor.alive).toBe(true);
    expect(result.acknowledged).toBe(result.sent);
    expect(result).toMatchObject({ lost: 0, duplicates: 0, unknown: 0 });
  });

  it('kill -9 of a web node right after it answered 202s: every acknowledged event is stored', async () => {
    const victim = await webNode('web-1');
    const pipeline = await api.createPipeline({ name: 'kill-web' });
    let killed: Promise<void> | null = null;
    // Requests go to the victim while it lives, then (retried by the sender) to the other node.
    const stats = await runLoad({
      targets: () => (victim.alive && !killed ? [victim.url] : [web.url]),
      pipeline,
      events: 3000,
      batch: 20,
      concurrency: 8,
      onAck: (acked) => {
        if (acked >= 1000 && !killed) killed = victim.kill9();
      },
    });
    await killed;
    expect(victim.exitStatus?.signal).toBe('SIGKILL');
    const result = await reconcile(env, pipeline.id, stats, 'kill -9 web node right after 202s');
    expect(result.acknowledged).toBe(result.sent);
    expect(result).toMatchObject({ lost: 0, duplicates: 0, unknown: 0 });
    expect(web.alive).toBe(true);
  });

  it('kills random processes (web or ingestor, seeded) at random points of a load; a replacement starts each time; the counts reconcile', async () => {
    let seed = 4242;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const webs: WebProc[] = [web, await webNode('web-2')];
    const ingestors: Proc[] = live(procs).filter((proc) => proc.name.startsWith('ingestor'));
    while (ingestors.length < 2) ingestors.push(await ingestor(`ingestor-4${ingestors.length}`));
    const pipeline = await api.createPipeline({ name: 'chaos' });
    const kills: string[] = [];
    const replacements: Array<Promise<unknown>> = [];
    let serial = 5;
    // Four kills at seeded points of the stream (events acknowledged so far), the moments a user might pick.
    const points = Array.from({ length: 4 }, () => 300 + Math.floor(random() * 5200)).sort((a, b) => a - b);

    const killOne = async () => {
      const pool = random() < 0.5 ? webs.filter((p) => p.alive) : ingestors.filter((p) => p.alive);
      const victim = pool[Math.floor(random() * pool.length)];
      if (!victim) return;
      await victim.kill9();
      kills.push(victim.name);
      await sleep(500);
      if (victim.name.startsWith('web')) webs.push(await webNode(`web-${serial++}`));
      else ingestors.push(await ingestor(`ingestor-${serial++}`));
    };
    const stats = await runLoad({
      targets: () => {
        const alive = webs.filter((p) => p.alive).map((p) => p.url);
        return alive.length > 0 ? alive : [webs[webs.length - 1].url];
      },
      pipeline,
      events: 6000,
      batch: 10,
      concurrency: 4,
      retries: 100,
      deadlineMs: 140_000,
      onAck: (acked) => {
        while (points.length > 0 && acked >= points[0]) {
          points.shift();
          replacements.push(killOne());
        }
      },
    });
    await Promise.all(replacements);
    if (stats.acknowledged.size < stats.sent.size) for (const proc of [...ingestors, ...webs]) process.stdout.write(`\n${proc.name} (${proc.alive ? 'alive' : 'dead'}):\n${proc.grep(/WARN|ERROR|paus|resum|shutdown|running/).slice(-15).join('\n')}\n`);
    process.stdout.write(`\nchaos kills (kill -9): ${kills.join(', ')}\n`);
    expect(kills.length).toBeGreaterThan(0);
    const result = await reconcile(env, pipeline.id, stats, `random kill -9 of ${kills.length} processes (${kills.join(', ')}) during a load`, 90_000);
    expect(result.acknowledged).toBe(result.sent);
    expect(result).toMatchObject({ lost: 0, duplicates: 0, unknown: 0 });
    web = webs.filter((p) => p.alive)[0];
  }, 200_000);
});
