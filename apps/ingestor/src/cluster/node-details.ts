import { Injectable, type OnModuleInit } from '@nestjs/common';
import { QueueName } from '@dash/domain';
import { Backlog, ClusterHeartbeat, DashMetrics, InjectQueue } from '@dash/infra';
import type { Queue } from 'bullmq';
import { BufferService } from '../buffer/buffer.service';

/** Adds this ingestor's queue depths and buffered events to its heartbeat. */
@Injectable()
export class IngestorNodeDetails implements OnModuleInit {
  constructor(
    private readonly heartbeat: ClusterHeartbeat,
    private readonly buffers: BufferService,
    private readonly metrics: DashMetrics,
    @InjectQueue(QueueName.Pipelines) private readonly queue: Queue,
    private readonly backlog: Backlog,
  ) {}

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
}
