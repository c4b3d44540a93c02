import { JobName, QueueName, type IngestEvent, type IngestJobData } from '@dash/domain';
import { Backlog, coalesceWrites, createRedis, loadConfig, quit, RedisKeys } from '@dash/infra';
import { Queue } from 'bullmq';
import { pipelinesQueueFixture, TcpProxy } from '@dash/infra/testing';
import { randomUUID } from 'node:crypto';
import { BacklogSweeper } from './backlog-sweeper';
import { IngestWorker } from './ingest.worker';

/** Buffers that hold every add until released: what a slow database looks like to the worker. */
class HeldBuffers {
  held = 0;
  readonly degraded = false;
  jobsTaken = 0;
  private releases: Array<() => void> = [];

  add(events: readonly IngestEvent[]): Promise<void> {
    this.jobsTaken += 1;
    this.held += events.length;
    return new Promise((resolve) =>
      this.releases.push(() => {
        this.held -= events.length;
        resolve();
      }),
    );
  }

  releaseAll(): void {
    const releases = this.releases;
    this.releases = [];
    for (const release of releases) release();
  }

  flushNow(): void {
    this.releaseAll();
  }

  stop(): void {
    // nothing in flight to give up on
  }
}

const waitFor = async (check: () => boolean | Promise<boolean>, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe(IngestWorker.name, () => {
  const fixture = pipelinesQueueFixture('worker');
  const { prefix, redisUrl, keys, redis, queue } = fixture;
  const config = loadConfig({ REDIS_URL: redisUrl, DASH_KEY_PREFIX: prefix, BUFFER_MAX_ITEMS: '1000', BUFFER_PARTITIONS: '10' }, 'ingestor');

  // What the queues module injects in the ingestor: a corked worker connection, the backlog and its sweeper.
  const connection = coalesceWrites(createRedis(redisUrl, 'worker', 'test-ingest-worker'));
  const backlog = new Backlog(redis, keys);
  const sweeper = new BacklogSweeper(redis, keys, backlog);

  afterAll(async () => {
    await quit(connection);
    await fixture.close();
  });

  const job = (events: number): { name: string; data: IngestJobData; opts: { jobId: string } } => ({
    name: JobName.Ingest,
    data: {
      events: Array.from({ length: events }, (_, i) => ({ pipelineId: randomUUID(), id: `e${i}`, type: null, occurredAt: 0, receivedAt: 0, payloadJson: '{}' })),
    },
    opts: { jobId: randomUUID() },
  });

  it('takes only as many large jobs at once as fit under its high-water mark, all of them in the end, and more small ones', async () => {
    // 12 jobs of 2,000 events: the high-water mark (BUFFER_MAX_ITEMS × BUFFER_PARTITIONS = 10,000)
    // fits 5 of them, though QUEUE_CONCURRENCY allows 20.
    await queue.addBulk(Array.from({ length: 12 }, () => job(2000)));
    const buffers = new HeldBuffers();
    const worker = new IngestWorker(config, keys, buffers, connection, backlog, sweeper);
    worker.onApplicationBootstrap();
    try {
      await waitFor(() => buffers.jobsTaken >= 5);
      await new Promise((resolve) => setTimeout(resolve, 300)); // room to take more, were it allowed to
      expect(buffers.jobsTaken).toBe(5);
      expect(buffers.held).toBe(10_000);
      const drain = setInterval(() => buffers.releaseAll(), 20);
      await waitFor(async () => (await queue.getJobCountByTypes('wait', 'active', 'prioritized')) === 0);
      clearInterval(drain);
      expect(buffers.jobsTaken).toBe(12);

      // Small jobs again: the concurrency grows back to QUEUE_CONCURRENCY's 20 as they prove small.
      await queue.addBulk(Array.from({ length: 40 }, () => job(10)));
      await waitFor(() => buffers.jobsTaken - 12 >= 20);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(buffers.jobsTaken - 12).toBe(20);
      expect(buffers.held).toBe(200);
    } finally {
      buffers.releaseAll();
      await worker.beforeApplicationShutdown();
    }
  });

  it('shares that budget across partitions: four busy ones hold what one may, plus a job each, and all is taken in the end', async () => {
    // Four partitions, 8 jobs of 2,000 events in each. A budget per partition would take 5 from
    // each (40,000 events); one budget takes 5 in all, beyond it at most one job per partition.
    // Its own key prefix: the suite's other queue keeps jobs the tests before left there.
    const partitioned = new RedisKeys(`${prefix}_shared`, 4);
    const queues = Array.from({ length: 4 }, (_, partition) => new Queue<IngestJobData>(QueueName.Pipelines, { connection: redis, prefix: partitioned.ingestBull(partition) }));
    const buffers = new HeldBuffers();
    const worker = new IngestWorker(config, partitioned, buffers, connection, backlog, sweeper);
    try {
      for (const partitionQueue of queues) await partitionQueue.addBulk(Array.from({ length: 8 }, () => job(2000)));
      worker.onApplicationBootstrap();
      await waitFor(() => buffers.jobsTaken >= 5);
      await new Promise((resolve) => setTimeout(resolve, 300)); // room to take more, were it allowed to
      expect(buffers.jobsTaken).toBeGreaterThanOrEqual(5);
      expect(buffers.jobsTaken).toBeLessThanOrEqual(5 + 3);
      expect(buffers.held).toBe(buffers.jobsTaken * 2000);

      const drain = setInterval(() => buffers.releaseAll(), 20);
      await waitFor(async () => {
        const left = await Promise.all(queues.map((partitionQueue) => partitionQueue.getJobCountByTypes('wait', 'active', 'prioritized')));
        return left.every((count) => count === 0);
      });
      clearInterval(drain);
      expect(buffers.jobsTaken).toBe(32);
    } finally {
      buffers.releaseAll();
      await worker.beforeApplicationShutdown();
      for (const partitionQueue of queues) {
        await partitionQueue.obliterate({ force: true });
        await partitionQueue.close();
      }
    }
  });

  it('fails a job with a name it does not know at once, without retries, saying why; and keeps taking ingest jobs', async () => {
    const buffers = new HeldBuffers();
    const worker = new IngestWorker(config, keys, buffers, connection, backlog, sweeper);
    worker.onApplicationBootstrap();
    // Jobs left by the test before complete as they come (a database that keeps up).
    const drain = setInterval(() => buffers.releaseAll(), 20);
    try {
      const bogus = await queue.add('bogus' as typeof JobName.Ingest, { events: [] }, { attempts: 5, backoff: { type: 'fixed', delay: 10 } });
      await waitFor(async () => (await queue.getJobState(bogus.id as string)) === 'failed');
      const failed = await queue.getJob(bogus.id as string);
      expect(failed?.attemptsMade).toBe(1);
      expect(failed?.failedReason).toContain('unknown name "bogus"');

      const { name, data, opts } = job(3);
      await queue.add(name as typeof JobName.Ingest, data, { ...opts, removeOnComplete: false });
      await waitFor(async () => (await queue.getJobState(opts.jobId)) === 'completed');
    } finally {
      clearInterval(drain);
      buffers.releaseAll();
      await worker.beforeApplicationShutdown();
    }
  });

  it('counts how long its Redis has been unreachable, and forgets it once connected again', async () => {
    // The worker's connection goes through a proxy that first refuses, then passes to Redis, then is cut.
    const { hostname, port } = new URL(redisUrl);
    const proxy = await TcpProxy.start({ host: hostname, port: Number(port || 6379) });
    await proxy.cut();
    const lonely = createRedis(proxy.urlFor(redisUrl), 'worker', 'test-redis-lost');
    const worker = new IngestWorker(config, keys, new HeldBuffers(), lonely, backlog, sweeper);
    try {
      // Refused from the start: the loss counts from the first failed connection.
      await new Promise((resolve) => lonely.once('close', resolve));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(worker.redisLostMs).toBeGreaterThanOrEqual(250);

      await proxy.restore();
      await new Promise((resolve) => lonely.once('ready', resolve));
      expect(worker.redisLostMs).toBe(0);

      // Cut while connected: counted again from the cut.
      await proxy.cut();
      await new Promise((resolve) => lonely.once('close', resolve));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(worker.redisLostMs).toBeGreaterThanOrEqual(80);
      expect(worker.redisLostMs).toBeLessThan(5_000);
    } finally {
      lonely.disconnect();
      await proxy.close();
    }
  });
});
