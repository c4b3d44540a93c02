import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { QueueName } from '@dash/domain';
import { ClusterHeartbeat, REDIS, RedisKeys } from '@dash/infra';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BufferService } from '../buffer/buffer.service';

/** Adds this ingestor's queue depths and buffered events to its heartbeat. */
@Injectable()
export class IngestorNodeDetails implements OnModuleInit, OnApplicationShutdown {
  private readonly queue: Queue;

  constructor(
    private readonly heartbeat: ClusterHeartbeat,
    private readonly buffers: BufferService,
    @Inject(REDIS) redis: Redis,
    keys: RedisKeys,
  ) {
    // A shared connection: closing the queue leaves it to its owner.
    this.queue = new Queue(QueueName.Pipelines, { connection: redis, prefix: keys.bull });
  }

  onModuleInit(): void {
    this.heartbeat.describe(async () => {
      const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
      return { queues: counts, bufferBacklog: this.buffers.backlog };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close().catch(() => undefined);
  }
}
