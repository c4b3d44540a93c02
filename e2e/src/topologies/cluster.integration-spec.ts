import { Backlog, createRedis, quit, RedisKeys, type RedisClient } from '@dash/infra';
import { Api, sendWebhook, testEnv, waitFor, type CreatedPipeline, type RunningWeb, type TestEnv } from '../support/harness';
import { killAll, spawnApp } from '../support/processes';
import { clusterKeys, clusterMasters, deleteClusterKeys, masterOfKey, serverAt, startTopologyStack, type RedisTopologies, type TopologyStack } from '../support/topologies';

/** The core path on a Redis Cluster of 3 masters + 3 replicas (scripts/redis-topologies.sh). */
describe('Redis Cluster', () => {
  let topologies: RedisTopologies;
  let env: TestEnv;
  let web: RunningWeb;
  let api: Api;
  let redis: RedisClient;

  let stack: TopologyStack;

  beforeAll(async () => {
    stack = await startTopologyStack('cluster', 'cluster');
    ({ topologies, env, web, api } = stack);
    redis = createRedis(env.config('web').redis, 'worker', 'test-cluster');
  });

  afterAll(async () => {
    if (redis) await quit(redis);
    await stack?.close();
  });

  it('takes signed webhooks of pipelines in many partitions (202), stores each once, counts them, and drains the backlog', async () => {
    const keys = new RedisKeys(env.name);
    const pipelines: CreatedPipeline[] = [];
    for (let i = 0; i < 8; i++) pipelines.push(await api.createPipeline({ name: `cluster-${i}` }));
    const partitions = new Set(pipelines.map((p) => keys.partitionOf(p.id)));
    // The partitions of these pipelines live on more than one master: the load is spread.
    const owners = new Set(await Promise.all([...partitions].map((partition) => masterOfKey(topologies, keys.ingestBull(partition)))));
    expect(owners.size).toBeGreaterThan(1);

    const answers = await Promise.all(
      pipelines.flatMap((pipeline) => [
        ...Array.from({ length: 5 }, (_, i) => sendWebhook(web.url, pipeline, { n: i }, { id: `one-${i}` })),
        sendWebhook(web.url, pipeline, Array.from({ length: 10 }, (_, i) => ({ id: `batch-${i}` }))),
        // A repeated delivery is answered 202 and stored once.
        sendWebhook(web.url, pipeline, { n: 0 }, { id: 'one-0' }),
      ]),
    );
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 202));
    for (const pipeline of pipelines) await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === 15, 20_000, `pipeline ${pipeline.id} stored`);

    const backlog = new Backlog(redis, keys);
    const totals = await waitFor(() => backlog.totals(), (t) => t.total === 0, 10_000, 'an empty backlog');
    expect(totals.byPipeline.size).toBe(0);
  });

  it('runs the other multi-key paths on the cluster: rejection logs of several pipelines, the 429 set, token revocation', async () => {
    const [first, second] = [await api.createPipeline({ name: 'refused-1' }), await api.createPipeline({ name: 'refused-2' })];
    // Refused deliveries of two pipelines: one node writes both lists in one pipelined round trip.
    for (const pipeline of [first, second]) expect((await sendWebhook(web.url, pipeline, 'x', { contentType: 'text/plain' })).status).toBe(415);
    for (const pipeline of [first, second]) {
      const { status, body } = await api.request('GET', `/api/pipelines/${pipeline.id}/rejections`);
      expect(status).toBe(200);
      expect(body.items).toHaveLength(1);
    }
    // A pipeline over its backlog share gets 429, noted in the set the backlog_full alert reads.
    const keys = new RedisKeys(env.name);
    const backlog = new Backlog(redis, keys);
    const job = Backlog.jobId(keys.partitionOf(first.id), 'cluster-test');
    await backlog.add(job, { [first.id]: 100_000 });
    try {
      // Summed over every partition's keys, each read from the master that owns it.
      expect((await backlog.totals()).byPipeline.get(first.id)).toBeGreaterThanOrEqual(100_000);
      await waitFor(() => sendWebhook(web.url, first, { n: 1 }), (answer) => answer.status === 429, 10_000, '429');
      await waitFor(() => redis.zscore(keys.backlogRejections, first.id), (score) => score !== null, 10_000, 'the 429 noted');
    } finally {
      await backlog.release(job);
    }
    // Revoking a viewer token waits for every web node's acknowledgement in Redis: 204, not 503.
    const token = await api.request('POST', '/api/tokens', { pipelines: [first.id] });
    expect(token.status).toBe(201);
    expect((await api.request('DELETE', `/api/tokens/${token.body.id}`)).status).toBe(204);
  });

  it('keeps every key it owns under a hash tag, spread over the masters (multi-key commands stay in one slot)', async () => {
    const keys = await clusterKeys(topologies, env.name);
    expect(keys.length).toBeGreaterThan(0);
    // The owner key is used alone; every other key carries {c} or {pN}.
    const untagged = keys.filter((key) => key !== `${env.name}:owner` && !/^[^{]+:\{(c|p\d+)\}:/.test(key));
    expect(untagged).toEqual([]);
    expect((await clusterMasters(topologies)).length).toBe(3);
  });

  /** Starts an app in its own process and returns what it printed before exiting with 1. */
  const refusal = async (role: 'web' | 'ingestor', overrides: Record<string, string>): Promise<string> => {
    const refused = testEnv(`refused${role}`, overrides);
    const proc = spawnApp(role, { ...refused.env, PORT: '0' }, `refused-${role}`);
    try {
      const exit = await proc.waitForExit(60_000);
      expect(exit.code).toBe(1);
      return proc.lines.join('\n');
    } finally {
      await killAll([proc]);
      await refused.cleanup();
      await deleteClusterKeys(topologies, refused.name);
    }
  };

  it('stops at start, naming REDIS_CLUSTER_NODES, when no node of the cluster answers', async () => {
    const output = await refusal('web', { REDIS_CLUSTER_NODES: 'redis://127.0.0.1:1,redis://127.0.0.1:2' });
    expect(output).toMatch(/Redis \(REDIS_CLUSTER_NODES=127\.0\.0\.1:1, 127\.0\.0\.1:2\) not ready after \d+ ms/);
  });

  it('stops at start, naming REDIS_CLUSTER_NODES and the master, when any master may evict keys', async () => {
    const [{ port }] = await clusterMasters(topologies);
    const master = serverAt(port);
    try {
      await master.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const output = await refusal('ingestor', { REDIS_CLUSTER_NODES: topologies.clusterNodes });
      expect(output).toContain(`Redis at 127.0.0.1:${port} maxmemory-policy is allkeys-lru (REDIS_CLUSTER_NODES=`);
      expect(output).toContain('CONFIG SET maxmemory-policy noeviction');
    } finally {
      await master.config('SET', 'maxmemory-policy', 'noeviction');
      master.disconnect();
    }
  });
});
