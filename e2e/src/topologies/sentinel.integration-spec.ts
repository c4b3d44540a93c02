import { Api, sendWebhook, waitFor, type RunningWeb, type TestEnv } from '../support/harness';
import { sentinelMasterPort, serverAt, startTopologyStack, type RedisTopologies, type TopologyStack } from '../support/topologies';

/** The core path on a master followed through Sentinel (1 master, 1 replica, 3 Sentinels; scripts/redis-topologies.sh). */
describe('Redis Sentinel', () => {
  let topologies: RedisTopologies;
  let env: TestEnv;
  let web: RunningWeb;
  let api: Api;

  let stack: TopologyStack;

  beforeAll(async () => {
    // REDIS_URL points nowhere: everything must come through the Sentinels.
    stack = await startTopologyStack('sentinel', 'sentinel', { REDIS_ACK_REPLICAS: '1' });
    ({ topologies, env, web, api } = stack);
  });

  afterAll(() => stack?.close());

  it('takes signed webhooks (202 once the replica holds them), stores each once and counts them, on the master Sentinel names', async () => {
    const pipeline = await api.createPipeline({ name: 'sentinel' });
    const answers = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => sendWebhook(web.url, pipeline, { n: i }, { id: `one-${i}` })),
      sendWebhook(web.url, pipeline, Array.from({ length: 20 }, (_, i) => ({ id: `batch-${i}` }))),
      sendWebhook(web.url, pipeline, { n: 0 }, { id: 'one-0' }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 202));
    await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === 30, 20_000, 'stored');
    // The jobs are on the master Sentinel names: its key prefix is bound there.
    const master = serverAt(await sentinelMasterPort(topologies));
    try {
      expect(await master.exists(`${env.name}:owner`)).toBe(1);
    } finally {
      master.disconnect();
    }
  });
});
