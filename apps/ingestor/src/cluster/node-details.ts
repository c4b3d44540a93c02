import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { QueueName } from '@dash/domain';
import { Backlog, ClusterHeartbeat, DashMetrics, REDIS, RedisKeys } from '@dash/infra';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BufferService } from '../buffer/buffer.service';

/** Adds this ingestor's queue depths and buffered events to its heartbeat. */
@Injectable()
export class IngestorNodeDetails implements OnModuleInit, OnApplicationShutdown {
  private readonly queue: Queue;
  private readonly backlog: Backlog;

  constructor(
    private readonly heartbeat: ClusterHeartbeat,
    private readonly buffers: BufferService,
    private readonly metrics: DashMetrics,
    @Inject(REDIS) redis: Redis,
    keys: RedisKeys,
  ) {
    // A shared connection: closing the queue leaves it to its owner.
    this.queue = new Queue(QueueName.Pipelines, { connection: redis, prefix: keys.bull });
    this.backlog = new Backlog(redis, keys);
  }

  onModuleInit(): void {
    this.metrics.provide({
      backlog: async () => (await this.backlog.totals()).total,
      queueJobs: async () => ({ [QueueName.Pipelines]: await this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed') }),
    });
    this.heartbeat.describe(async () => {
      const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
      return { queues: counts, bufferBacklog: this.buffers.backlog };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close().catch(() => undefined);
  }
}
