import type { INestMicroservice } from '@nestjs/common';
import { Backlog, createRedis, quit, RedisKeys, type RedisClient } from '@dash/infra';
import { Api, sendWebhook, startIngestor, startWeb, testEnv, waitFor, type CreatedPipeline, type RunningWeb, type TestEnv } from '../support/harness';
import { clusterKeys, clusterMasters, deleteClusterKeys, masterOfKey, redisTopologies, type RedisTopologies } from '../support/topologies';

/** The core path on a Redis Cluster of 3 masters + 3 replicas (scripts/redis-topologies.sh). */
describe('Redis Cluster', () => {
  let topologies: RedisTopologies;
  let env: TestEnv;
  let ingestor: INestMicroservice;
  let web: RunningWeb;
  let api: Api;
  let redis: RedisClient;

  beforeAll(async () => {
    topologies = redisTopologies();
    env = testEnv('cluster', { REDIS_CLUSTER_NODES: topologies.clusterNodes });
    ingestor = await startIngestor(env.config('ingestor'));
    web = await startWeb(env.config('web'));
    api = new Api(web.url);
    redis = createRedis(env.config('web').redis, 'worker', 'test-cluster');
  });

  afterAll(async () => {
    await web?.close();
    await ingestor?.close();
    if (redis) await quit(redis);
    await env?.cleanup();
    if (topologies && env) await deleteClusterKeys(topologies, env.name);
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

  it('keeps every key it owns under a hash tag, spread over the masters (multi-key commands stay in one slot)', async () => {
    const keys = await clusterKeys(topologies, env.name);
    expect(keys.length).toBeGreaterThan(0);
    // The owner key is used alone; every other key carries {c} or {pN}.
    const untagged = keys.filter((key) => key !== `${env.name}:owner` && !/^[^{]+:\{(c|p\d+)\}:/.test(key));
    expect(untagged).toEqual([]);
    expect((await clusterMasters(topologies)).length).toBe(3);
  });
});
