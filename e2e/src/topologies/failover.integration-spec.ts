import { SocketEvent, type DataUpdated } from '@dash/domain';
import { keySlot, RedisKeys } from '@dash/infra';
import { Api, connectViewer, sendWebhook, startWeb, subscribeTo, waitFor, type CreatedPipeline, type RunningWeb, type TestEnv, type Viewer } from '../support/harness';
import { reconcile, runLoad, sleep, type LoadStats } from '../support/processes';
import { clusterHealthy, kill9, masterOfKey, migrateSlot, restart, sentinelMasterPort, startTopologyStack, type RedisTopologies, type TopologyStack } from '../support/topologies';

/**
 * 3,000 events streamed to one pipeline by 6 senders retrying what is refused; once 600 are
 * acknowledged, `fault` starts (once), mid-stream. Answers the load's statistics and the fault's run.
 */
async function streamThrough<T>(webs: RunningWeb[], pipeline: CreatedPipeline, fault: () => Promise<T>): Promise<{ stats: LoadStats; faulted: Promise<T> | null }> {
  let faulted: Promise<T> | null = null;
  const stats = await runLoad({
    targets: () => webs.map((web) => web.url),
    pipeline,
    events: 3000,
    batch: 10,
    concurrency: 6,
    retries: 200,
    deadlineMs: 150_000,
    onAck: (acked) => {
      if (acked >= 600 && !faulted) faulted = fault();
    },
  });
  return { stats, faulted };
}

/** A new pipeline whose ingest partition's master is not `victim` (pipelines are routed by id). */
async function pipelineOnAnotherMaster(api: Api, keys: RedisKeys, victim: number, topologies: RedisTopologies): Promise<CreatedPipeline> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const candidate = await api.createPipeline({ name: `beside-${attempt}` });
    if ((await masterOfKey(topologies, keys.ingestBull(keys.partitionOf(candidate.id)))) !== victim) return candidate;
  }
  throw new Error('no pipeline routed to another master in 20 tries');
}

/** Every acknowledged event stored once, none lost; senders saw only 202 and 503 (with Retry-After). */
async function expectReconciled(env: TestEnv, pipelineId: string, stats: LoadStats, label: string) {
  const result = await reconcile(env, pipelineId, stats, label, 90_000);
  expect(result.acknowledged).toBe(3000);
  expect(result.lost).toBe(0);
  expect(result.duplicates).toBe(0);
  expect([...stats.statuses.keys()].filter((status) => status !== 202 && status !== 503)).toEqual([]);
  return result;
}

/**
 * Promise 1 through a failover: with REDIS_ACK_REPLICAS=1 a 202 waits until a replica holds the
 * job, so `kill -9` of the master that holds a busy partition, mid-stream, loses no acknowledged
 * event; the replica takes over, the killed master comes back as its replica, and intake resumes
 * by itself. Senders, spread over two web nodes, see only 202 and 503 (with Retry-After) and retry
 * the 503s; a viewer on each web node, subscribed before the kill, gets the pipeline's updates
 * during the stream and its final count afterwards. The read API answers throughout; on the
 * cluster, webhooks of a pipeline whose partition is on another master are all taken (202).
 */
describe.each(['cluster', 'sentinel'] as const)('kill -9 of the Redis master (%s, REDIS_ACK_REPLICAS=1)', (topology) => {
  let topologies: RedisTopologies;
  let env: TestEnv;
  let web: RunningWeb;
  let api: Api;

  let stack: TopologyStack;
  let second: RunningWeb;
  let viewers: Viewer[] = [];

  beforeAll(async () => {
    stack = await startTopologyStack(`failover${topology}`, topology, { REDIS_ACK_REPLICAS: '1' });
    ({ topologies, env, web, api } = stack);
    second = await startWeb(env.config('web'));
  });

  afterAll(async () => {
    for (const viewer of viewers) viewer.disconnect();
    await second?.close();
    await stack?.close();
  });

  it('loses no acknowledged event and stores none twice, intake resumes without a restart, reads and other partitions keep flowing, and live updates reach both web nodes', async () => {
    const pipeline = await api.createPipeline({ name: `failover-${topology}` });
    viewers = await Promise.all([web, second].map((node) => connectViewer(node.url, env.env.DASH_ADMIN_TOKEN)));
    const updates: DataUpdated[][] = viewers.map(() => []);
    for (const [i, viewer] of viewers.entries()) {
      viewer.on(SocketEvent.DataUpdated, (update) => updates[i].push(update));
      const ack = await subscribeTo(viewer, pipeline.id);
      expect(ack.ok).toBe(true);
    }
    const keys = new RedisKeys(env.name);
    const partitionKey = keys.ingestBull(keys.partitionOf(pipeline.id));
    // The master holding this pipeline's partition: the busy one.
    const victim = topology === 'cluster' ? await masterOfKey(topologies, partitionKey) : await sentinelMasterPort(topologies);

    // On the cluster, a pipeline whose partition lives on another master: its webhooks, sent one
    // after another from the kill until the cluster is whole again, are all taken (202).
    const bystander = topology === 'cluster' ? await pipelineOnAnotherMaster(api, keys, victim, topologies) : null;
    let failingOver = false;
    const bystanderStatuses: number[] = [];
    const sendBeside = async () => {
      for (let i = 0; failingOver; i++) bystanderStatuses.push((await sendWebhook(web.url, bystander as CreatedPipeline, { type: 'beside.failover', i }, { id: `beside-${i}` })).status);
    };
    // The read API does not need Redis: it answers throughout (20 reads a second, under the token's rate limit).
    const readStatuses: number[] = [];
    const readBeside = async () => {
      while (failingOver) {
        readStatuses.push((await api.request('GET', `/api/pipelines/${pipeline.id}/stats`)).status);
        await sleep(50);
      }
    };
    let beside: Promise<unknown> = Promise.resolve();

    const { stats, faulted } = await streamThrough([web, second], pipeline, async () => {
      failingOver = true;
      beside = Promise.all([bystander === null ? null : sendBeside(), readBeside()]);
      kill9(topologies, victim);
      // The replica takes over; then the killed master comes back (as a replica) so that
      // REDIS_ACK_REPLICAS=1 can be met again.
      if (topology === 'cluster') {
        await waitFor(() => masterOfKey(topologies, partitionKey).catch(() => victim), (port) => port !== victim, 30_000, 'a replica promoted');
      } else {
        await waitFor(() => sentinelMasterPort(topologies), (port) => port !== victim, 30_000, 'Sentinel failed over');
      }
      await sleep(1000);
      await restart(topologies, victim);
      if (topology === 'cluster') await clusterHealthy(topologies);
      failingOver = false;
      await beside;
    });
    expect(faulted).not.toBeNull();
    await faulted;
    expect(readStatuses.length).toBeGreaterThan(10);
    expect(readStatuses.filter((status) => status !== 200)).toEqual([]);
    if (bystander !== null) {
      expect(bystanderStatuses.length).toBeGreaterThan(10);
      expect(bystanderStatuses.filter((status) => status !== 202)).toEqual([]);
      await waitFor(async () => (await api.stats(bystander.id)).count, (count) => count === bystanderStatuses.length, 30_000, 'the other partition\'s webhooks stored');
    }

    // Only 202 and 503 reached the senders: no 5xx of another kind, no 4xx.
    const result = await expectReconciled(env, pipeline.id, stats, `kill -9 of the ${topology} master`);
    expect(result.unknown).toBe(0);

    // Both viewers got updates of this stream, and, after the failover, one more webhook's update
    // with the whole count on each web node (pub/sub keeps nothing: what was published at the
    // kill may be lost, the next update carries the state all the same).
    for (const received of updates) expect(received.filter((update) => update.pipelineId === pipeline.id).length).toBeGreaterThan(0);
    await waitFor(async () => (await sendWebhook(second.url, pipeline, { type: 'after.failover' }, { id: `after-${topology}` })).status, (status) => status === 202, 30_000, 'a 202 after the failover');
    for (const [i, received] of updates.entries()) {
      await waitFor(() => received.some((update) => update.pipelineId === pipeline.id && update.count === 3001), Boolean, 30_000, `the final update on web node ${i}`);
    }
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
    const partitionKey = keys.ingestBull(keys.partitionOf(pipeline.id));
    const before = await masterOfKey(topologies, partitionKey);
    const { stats, faulted } = await streamThrough([web], pipeline, () => migrateSlot(topologies, keySlot(partitionKey), () => sleep(20)));
    expect(faulted).not.toBeNull();
    const after = await faulted;
    expect(after).not.toBe(before);
    expect(await masterOfKey(topologies, partitionKey)).toBe(after);

    await expectReconciled(env, pipeline.id, stats, 'slot migration');
  });
});
