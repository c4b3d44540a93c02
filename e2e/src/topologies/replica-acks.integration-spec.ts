import { startTopologyStack, type TopologyStack } from '../support/topologies';
import { Api, queryDb, sendWebhook, waitFor, type RunningWeb, type TestEnv } from '../support/harness';

/** REDIS_ACK_REPLICAS=1 on a Redis with no replica (the machine's single Redis): never a 202. */
describe('REDIS_ACK_REPLICAS without replicas', () => {
  let env: TestEnv;
  let web: RunningWeb;
  let api: Api;

  let stack: TopologyStack;

  beforeAll(async () => {
    stack = await startTopologyStack('ackreplicas', 'single', { REDIS_ACK_REPLICAS: '1' });
    ({ env, web, api } = stack);
  });

  afterAll(() => stack?.close());

  it('answers 503 unavailable with Retry-After once WAIT times out, and a retried delivery is stored once', async () => {
    const pipeline = await api.createPipeline({ name: 'no-replica' });
    const answers = await Promise.all([sendWebhook(web.url, pipeline, { n: 1 }, { id: 'w-1' }), sendWebhook(web.url, pipeline, { n: 2 }, { id: 'w-2' })]);
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.body.error).toBe('unavailable');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // The jobs were queued before WAIT gave up: they are stored, and a retry of the same ids adds nothing.
    await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === 2, 15_000, 'stored');
    expect((await sendWebhook(web.url, pipeline, { n: 1 }, { id: 'w-1' })).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rows = await queryDb<{ n: string }>(env, 'SELECT count(*) AS n FROM events WHERE pipeline_id = $1', [pipeline.id]);
    expect(Number(rows[0].n)).toBe(2);
  });
});
