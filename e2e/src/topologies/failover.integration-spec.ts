import { keySlot, RedisKeys } from '@dash/infra';
import { Api, waitFor, type RunningWeb, type TestEnv } from '../support/harness';
import { reconcile, runLoad, sleep } from '../support/processes';
import { clusterHealthy, kill9, masterOfKey, migrateSlot, restart, sentinelMasterPort, startTopologyStack, type RedisTopologies, type TopologyStack } from '../support/topologies';

/**
 * Promise 1 through a failover: with REDIS_ACK_REPLICAS=1 a 202 waits until a replica holds the
 * job, so `kill -9` of the master that holds a busy partition, mid-stream, loses no acknowledged
 * event; the replica takes over, the killed master comes back as its replica, and intake resumes
 * by itself. Senders see only 202 and 503 (with Retry-After) and retry the 503s.
 */
describe.each(['cluster', 'sentinel'] as const)('kill -9 of the Redis master (%s, REDIS_ACK_REPLICAS=1)', (topology) => {
  let topologies: RedisTopologies;
  let env: TestEnv;
  let web: RunningWeb;
  let api: Api;

  let stack: TopologyStack;

  beforeAll(async () => {
    stack = await startTopologyStack(`failover${topology}`, topology, { REDIS_ACK_REPLICAS: '1' });
    ({ topologies, env, web, api } = stack);
  });

  afterAll(() => stack?.close());

  it('loses no acknowledged event and stores none twice, and intake resumes without a restart', async () => {
    const pipeline = await api.createPipeline({ name: `failover-${topology}` });
    const keys = new RedisKeys(env.name);
    // The master holding this pipeline's partition: the busy one.
    const victim = topology === 'cluster' ? await masterOfKey(topologies, keys.ingestBull(keys.partitionOf(pipeline.id))) : await sentinelMasterPort(topologies);
    let failover: Promise<void> | null = null;

    const stats = await runLoad({
      targets: () => [web.url],
      pipeline,
      events: 3000,
      batch: 10,
      concurrency: 6,
      retries: 200,
      deadlineMs: 150_000,
      onAck: (acked) => {
        if (acked < 600 || failover) return;
        failover = (async () => {
          kill9(topologies, victim);
          // The replica takes over; then the killed master comes back (as a replica) so that
          // REDIS_ACK_REPLICAS=1 can be met again.
          if (topology === 'cluster') {
            await waitFor(() => masterOfKey(topologies, keys.ingestBull(keys.partitionOf(pipeline.id))).catch(() => victim), (port) => port !== victim, 30_000, 'a replica promoted');
          } else {
            await waitFor(() => sentinelMasterPort(topologies), (port) => port !== victim, 30_000, 'Sentinel failed over');
          }
          await sleep(1000);
          await restart(topologies, victim);
          if (topology === 'cluster') await clusterHealthy(topologies);
        })();
      },
    });
    expect(failover).not.toBeNull();
    await failover;

    const result = await reconcile(env, pipeline.id, stats, `kill -9 of the ${topology} master`, 90_000);
    expect(result.acknowledged).toBe(3000);
    expect(result.lost).toBe(0);
    expect(result.duplicates).toBe(0);
    expect(result.unknown).toBe(0);
    // Only 202 and 503 reached the senders: no 5xx of another kind, no 4xx.
    expect([...stats.statuses.keys()].filter((status) => status !== 202 && status !== 503)).toEqual([]);
  });
});

/**
 * Resharding under load: the slot of the busy pipeline's partition moves to another master while
 * webhooks stream in (some of its keys already there, some not: TRYAGAIN and ASK for a moment).
 */
describe('a busy partition\'s slot migrated mid-stream (cluster)', () => {
  let topologies: RedisTopologies;
  let env: TestEnv;
  let web: RunningWeb;
  let api: Api;

  let stack: TopologyStack;

  beforeAll(async () => {
    stack = await startTopologyStack('migrate', 'cluster', { REDIS_ACK_REPLICAS: '1' });
    ({ topologies, env, web, api } = stack);
  });

  afterAll(() => stack?.close());

  it('loses nothing, stores nothing twice, and answers senders only 202 or 503 with Retry-After', async () => {
    const pipeline = await api.createPipeline({ name: 'migrate' });
    const keys = new RedisKeys(env.name);
    const slot = keySlot(keys.ingestBull(keys.partitionOf(pipeline.id)));
    const before = await masterOfKey(topologies, keys.ingestBull(keys.partitionOf(pipeline.id)));
    let migration: Promise<number> | null = null;
    const stats = await runLoad({
      targets: () => [web.url],
      pipeline,
      events: 3000,
      batch: 10,
      concurrency: 6,
      retries: 200,
      deadlineMs: 150_000,
      onAck: (acked) => {
        if (acked < 600 || migration) return;
        migration = migrateSlot(topologies, slot, () => sleep(20));
      },
    });
    expect(migration).not.toBeNull();
    const after = await (migration as unknown as Promise<number>);
    expect(after).not.toBe(before);
    expect(await masterOfKey(topologies, keys.ingestBull(keys.partitionOf(pipeline.id)))).toBe(after);

    const result = await reconcile(env, pipeline.id, stats, 'slot migration', 90_000);
    expect(result.acknowledged).toBe(3000);
    expect(result.lost).toBe(0);
    expect(result.duplicates).toBe(0);
    expect([...stats.statuses.keys()].filter((status) => status !== 202 && status !== 503)).toEqual([]);
  });
});
