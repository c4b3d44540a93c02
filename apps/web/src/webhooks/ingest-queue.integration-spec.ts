import { QueueName, type IngestEvent, type IngestJobData } from '@dash/domain';
import { Backlog, createRedis, IngestQueues, quit, ReplicaAcks, whenReady, type RedisKeys } from '@dash/infra';
import { pipelinesQueueFixture } from '@dash/infra/testing';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { IngestQueue } from './ingest-queue';

const ROUND_TRIP_MS = 50;

/** A TCP proxy to the real Redis that delays every chunk by half the round trip each way (a remote Redis). */
async function slowProxy(target: URL): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const delayed = (from: Socket, to: Socket) =>
    from.on('data', (chunk) => {
      setTimeout(() => to.writable && to.write(chunk), ROUND_TRIP_MS / 2);
    });
  const server: Server = createServer((client) => {
    const upstream = createConnection(Number(target.port || 6379), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    delayed(client, upstream);
    delayed(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A producer with what the queues module would inject: a fail-fast connection, the queue and the backlog on it. */
async function producerOn(url: string, keys: RedisKeys): Promise<{ producer: IngestQueue; close: () => Promise<void> }> {
  const connection = createRedis(url, 'producer', 'test-ingest-producer');
  const queue = new Queue<IngestJobData>(QueueName.Pipelines, { connection, prefix: keys.ingestBull(0) });
  await whenReady(connection);
  return {
    producer: new IngestQueue(connection, new IngestQueues([queue], keys), new Backlog(connection, keys), new ReplicaAcks(connection, 0, 1000)),
    close: async () => {
      await queue.close();
      await quit(connection);
    },
  };
}

const event = (pipelineId: string, i: number): IngestEvent => ({ pipelineId, id: `e${i}`, type: null, occurredAt: 0, receivedAt: 0, payloadJson: '{}' });

describe(IngestQueue.name, () => {
  const fixture = pipelinesQueueFixture('producer');
  const { redisUrl, keys, redis, queue } = fixture;

  afterAll(() => fixture.close());

  it('sends one job at a time: requests arriving during a round trip go together in the next job, and each is answered once its job is queued', async () => {
    const proxy = await slowProxy(new URL(redisUrl));
    const { producer, close } = await producerOn(proxy.url, keys);
    try {
      const pipelineId = randomUUID();
      // 60 requests, one every 2 ms: about three round trips' worth.
      const answered: number[] = [];
      const requests: Array<Promise<void>> = [];
      for (let i = 0; i < 60; i++) {
        requests.push(producer.enqueue([event(pipelineId, i)]).then(() => void answered.push(i)));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await Promise.all(requests);
      expect(answered).toHaveLength(60);

      const jobs = await queue.getJobs(['wait']);
      const sizes = jobs.map((job) => job.data.events.length);
      expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(60);
      expect(new Set(jobs.flatMap((job) => job.data.events.map((e) => e.id))).size).toBe(60);
      // Were jobs sent every 2 ms regardless of the one before, nearly every request would be a
      // job of its own (60); one at a time, it is about one job per round trip (~3 here, more on
      // a slow machine where the requests spread out).
      expect(jobs.length).toBeLessThanOrEqual(20);
      expect(Math.max(...sizes)).toBeGreaterThanOrEqual(5);
      // The backlog counts every event once, as one share per job.
      expect(Number(await redis.hget(keys.backlog(0).totals, pipelineId))).toBe(60);
    } finally {
      await close();
      await proxy.close();
    }
  });

  it('sends a lone request at once, without waiting for more', async () => {
    const { producer, close } = await producerOn(redisUrl, keys);
    try {
      const before = await queue.count();
      // Nothing else arrives: the request must not wait for company to be queued and answered.
      await producer.enqueue([event(randomUUID(), 0)]);
      expect(await queue.count()).toBe(before + 1);
    } finally {
      await close();
    }
  });

  it('answers 503 and leaves no backlog count when Redis refuses the job', async () => {
    const { producer, close } = await producerOn(redisUrl, keys);
    const meta = `${keys.ingestBull(0)}:${queue.name}:meta`;
    try {
      const pipelineId = randomUUID();
      const before = await queue.count();
      // The queue's metadata of the wrong type: BullMQ's script fails on it; the share was counted first.
      await redis.del(meta);
      await redis.set(meta, 'not a hash');
      await expect(producer.enqueue([event(pipelineId, 0)])).rejects.toMatchObject({ status: 503, code: 'unavailable' });
      expect(await redis.hget(keys.backlog(0).totals, pipelineId)).toBeNull();
      await redis.del(meta);
      expect(await queue.count()).toBe(before);
    } finally {
      await redis.del(meta);
      await close();
    }
  });
});
