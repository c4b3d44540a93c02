import { createRedis, type RedisTopology } from '@dash/infra';
import { Queue, Worker } from 'bullmq';
import type { Cluster } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { waitFor } from '../support/harness';
import { sleep } from '../support/processes';
import { deleteClusterKeys, redisTopologies } from '../support/topologies';

const ended = (cluster: Cluster) => new Promise<void>((resolve) => cluster.once('end', () => resolve()));

/** What a promise has come to after `ms`: its value, or 'pending'. */
const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> => Promise.race([promise, sleep(ms).then(() => 'pending' as const)]);

type ReadyCheck = (callback: (error: Error | null, state?: string) => void) => void;

/**
 * Makes a cluster client's next `failures` ready checks find `cluster_state:fail`, as while a
 * master fails over. Records, at each check, the listeners on 'ready' (ioredis calls connect()
 * again after each failed one).
 */
function failReadyChecks(client: Cluster, failures: number): { readonly listening: number[] } {
  const internals = client as unknown as { readyCheck: ReadyCheck };
  const readyCheck = internals.readyCheck.bind(client);
  const listening: number[] = [];
  internals.readyCheck = (callback) => {
    listening.push(client.listenerCount('ready'));
    return listening.length <= failures ? callback(null, 'fail') : readyCheck(callback);
  };
  return { listening };
}

/**
 * A cluster client from createRedis connects and closes as it should (redis.ts, mendCluster), where
 * ioredis 5's can hang or leak after a failover.
 */
describe('a Redis Cluster client', () => {
  const cluster: RedisTopology = {
    topology: 'cluster',
    nodes: redisTopologies().clusterNodes.split(',').map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port), tls: false })),
  };
  let client: Cluster;

  beforeEach(async () => {
    client = createRedis(cluster, 'worker', `cluster-close-${process.pid}`) as Cluster;
    client.on('error', () => undefined);
    await client.ping();
  });

  afterEach(async () => {
    if (client.status !== 'end') {
      const end = ended(client);
      client.disconnect();
      // Bounded: a client left at 'close' (as ioredis' own can be: 'stays ended' below) never ends.
      await within(end, 5000);
    }
  });

  it('stops refreshing its slot map when closed during a refresh', async () => {
    const refresh = client.refreshSlotsCache.bind(client);
    let refreshes = 0;
    const end = ended(client);
    // The first periodic refresh is under way when the client is closed.
    client.refreshSlotsCache = (callback?: Parameters<Cluster['refreshSlotsCache']>[0]) => {
      refreshes += 1;
      refresh(callback);
      if (refreshes === 1) client.disconnect();
    };
    await end;
    // Two and a half refresh periods (2 s) after the close: none more.
    await sleep(5000);
    expect(refreshes).toBe(1);
  });

  it('stays ended once disconnected, while its old connections end one by one', async () => {
    const statuses: string[] = [];
    const end = ended(client);
    client.disconnect();
    await end;
    for (const status of ['close', 'end', 'reconnecting', 'connecting']) client.on(status, () => statuses.push(status));
    // Each of the six connections ends on its own turn; every one of them drained the pool again.
    await sleep(500);
    expect(client.status).toBe('end');
    expect(statuses).toEqual([]);
  });

  it('settles connect() once ready when its first ready check finds the cluster failing', async () => {
    const end = ended(client);
    client.disconnect();
    await end;
    const checks = failReadyChecks(client, 1);
    const connected = client.connect().then(() => 'connected');
    expect(await within(connected, 10_000)).toBe('connected');
    expect(checks.listening.length).toBeGreaterThanOrEqual(2);
    expect(await client.ping()).toBe('PONG');
  });

  it('waits for its retries with one pair of listeners, however many ready checks fail', async () => {
    const end = ended(client);
    client.disconnect();
    await end;
    const checks = failReadyChecks(client, 4);
    expect(await within(client.connect().then(() => 'connected'), 20_000)).toBe('connected');
    expect(checks.listening).toHaveLength(5);
    expect(new Set(checks.listening).size).toBe(1);
  });

  it("keeps a BullMQ worker taking jobs after its blocking connection reconnects through a failing ready check", async () => {
    const prefix = `{dash_t_blocking_${randomBytes(4).toString('hex')}}`;
    const queue = new Queue('jobs', { connection: client, prefix });
    const done: string[] = [];
    const worker = new Worker('jobs', async (job) => void done.push(job.name), { connection: client, prefix });
    worker.on('error', () => undefined);
    try {
      await worker.waitUntilReady();
      await queue.add('before', {});
      await waitFor(() => done, (names) => names.includes('before'), 20_000, 'the job before');
      // The worker's own copy of the connection, which it blocks on: ended under it, BullMQ connects it again.
      const blocking = (worker as unknown as { blockingConnection: { _client: Cluster } }).blockingConnection._client;
      const checks = failReadyChecks(blocking, 1);
      const end = ended(blocking);
      blocking.disconnect();
      await end;
      // One job may still be taken on the way (with the next one's fetch); the worker must go on after it.
      for (const name of ['after', 'again', 'and again']) {
        await queue.add(name, {});
        await waitFor(() => done, (names) => names.includes(name), 20_000, `the job "${name}" after the reconnect`);
      }
      expect(checks.listening.length).toBeGreaterThanOrEqual(1);
    } finally {
      await within(worker.close(), 10_000);
      await queue.close();
      await deleteClusterKeys(redisTopologies(), prefix);
    }
  });
});
