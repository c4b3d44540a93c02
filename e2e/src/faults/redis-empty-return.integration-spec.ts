import type { INestMicroservice } from '@nestjs/common';
import { JobName, QueueName, type IngestJobData } from '@dash/domain';
import { Backlog, RedisKeys } from '@dash/infra';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Api, startIngestor, startWeb, testEnv, waitFor, type RunningWeb, type TestEnv } from '../support/harness';
import { OwnRedis } from '../support/processes';

/**
 * The suite's own redis-server (no persistence): what an ingestor must rebuild by itself when
 * Redis comes back empty, and the queue an upgrade leaves behind.
 */
describe('Redis state an ingestor finds', () => {
  let redis: OwnRedis;
  let env: TestEnv;
  let ingestor: INestMicroservice;
  let web: RunningWeb;
  let api: Api;
  let client: Redis;

  beforeAll(async () => {
    redis = await OwnRedis.start();
    env = testEnv('redisempty', { REDIS_URL: redis.url });
    ingestor = await startIngestor(env.config('ingestor'));
    web = await startWeb(env.config('web'));
    api = new Api(web.url);
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
  });

  afterAll(async () => {
    client?.disconnect();
    await web?.close();
    await ingestor?.close();
    await redis?.stop();
    await env?.cleanup();
  });

  async function alertScheduler(): Promise<boolean> {
    const queue = new Queue(QueueName.Default, { connection: client, prefix: new RedisKeys(env.name).bull });
    try {
      return (await queue.getJobSchedulers(0, -1)).some((scheduler) => scheduler.key === 'alerts-evaluate');
    } finally {
      await queue.close();
    }
  }

  it('schedules alert rounds again when Redis comes back empty, without a restart', async () => {
    await waitFor(() => alertScheduler(), Boolean, 10_000, 'the alert round scheduler');
    await redis.crash();
    await redis.startAgain(); // no persistence: empty
    expect(await client.dbsize()).toBeLessThanOrEqual(1);
    await waitFor(() => alertScheduler(), Boolean, 20_000, 'the alert round scheduler again');
  });

  it('drains ingest jobs left in the un-tagged queue of before partitions, releasing their backlog counts', async () => {
    const keys = new RedisKeys(env.name);
    const pipeline = await api.createPipeline({ name: 'upgraded' });
    // As the previous release queued them: the `pipelines` queue under `<prefix>:bull`, counted in `<prefix>:backlog:*`.
    const legacy = new Queue<IngestJobData>(QueueName.Pipelines, { connection: client, prefix: keys.legacyBull });
    const backlog = new Backlog(client, keys);
    try {
      for (let job = 0; job < 3; job++) {
        const events = Array.from({ length: 5 }, (_, i) => ({ pipelineId: pipeline.id, id: `legacy-${job}-${i}`, type: null, occurredAt: Date.now(), receivedAt: Date.now(), payloadJson: '{}' }));
        const jobId = `legacy-job-${job}`;
        await backlog.add(jobId, { [pipeline.id]: events.length });
        await legacy.add(JobName.Ingest, { events }, { jobId, removeOnComplete: true });
      }
      expect(await client.hget(keys.legacyBacklog.totals, '*')).toBe('15');
      await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === 15, 20_000, 'the legacy jobs stored');
      await waitFor(() => legacy.getJobCountByTypes('wait', 'active', 'delayed'), (n) => n === 0, 10_000, 'the legacy queue drained');
      const totals = await waitFor(() => backlog.totals(), (t) => t.total === 0, 10_000, 'the legacy backlog released');
      expect(totals.byPipeline.get(pipeline.id)).toBeUndefined();
    } finally {
      await legacy.close();
    }
  });
});
