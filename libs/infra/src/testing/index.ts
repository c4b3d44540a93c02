import { QueueName, type IngestJobData } from '@dash/domain';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { RedisKeys } from '../lib/redis/keys';

/** Test support only (imported as `@dash/infra/testing` by specs; never by the apps). */
export interface PipelinesQueueFixture {
  prefix: string;
  redisUrl: string;
  keys: RedisKeys;
  /** A plain client for inspecting keys. */
  redis: Redis;
  /** The `pipelines` queue under the suite's prefix: its one partition (the keys have `partitions` 1). */
  queue: Queue<IngestJobData>;
  /** Closes the queue and clients and deletes every key under the prefix. */
  close(): Promise<void>;
}

/** A suite's own key prefix on the real Redis (`TEST_REDIS_URL`), with one ingest partition and its `pipelines` queue under it. */
export function pipelinesQueueFixture(suite: string): PipelinesQueueFixture {
  const prefix = `dash_t_${suite}_${randomBytes(4).toString('hex')}`;
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const keys = new RedisKeys(prefix, 1);
  const redis = new Redis(redisUrl);
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<IngestJobData>(QueueName.Pipelines, { connection, prefix: keys.ingestBull(0) });
  return {
    prefix,
    redisUrl,
    keys,
    redis,
    queue,
    close: async () => {
      await queue.close();
      const found = await redis.keys(`${prefix}:*`);
      if (found.length) await redis.del(...found);
      redis.disconnect();
      connection.disconnect();
    },
  };
}

export * from './test-database';
export * from './tcp-proxy';
export * from './migration-under-test';
