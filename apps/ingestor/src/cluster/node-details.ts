import { Injectable, type OnModuleInit } from '@nestjs/common';
import { QueueName } from '@dash/domain';
import { Backlog, ClusterHeartbeat, DashMetrics, InjectQueue, QUEUE_STATES } from '@dash/infra';
import type { Queue } from 'bullmq';
import { BufferService } from '../buffer/buffer.service';

/** Adds this ingestor's queue depths and buffered events to its heartbeat and its metrics. */
@Injectable()
export class IngestorNodeDetails implements OnModuleInit {
  constructor(
    private readonly heartbeat: ClusterHeartbeat,
    private readonly buffers: BufferService,
    private readonly metrics: DashMetrics,
    @InjectQueue(QueueName.Pipelines) private readonly pipelines: Queue,
    @InjectQueue(QueueName.Default) private readonly defaultQueue: Queue,
    @InjectQueue(QueueName.Mailers) private readonly mailers: Queue,
    private readonly backlog: Backlog,
  ) {}

  onModuleInit(): void {
    this.metrics.provide({
      backlog: async () => (await this.backlog.totals()).total,
      // Every queue the ingestors work: ingest, polls and alert rounds, alert deliveries.
      queueJobs: async () => {
        const queues = [this.pipelines, this.defaultQueue, this.mailers];
        const counts = await Promise.all(queues.map((queue) => queue.getJobCounts(...QUEUE_STATES)));
        return Object.fromEntries(queues.map((queue, i) => [queue.name, counts[i]]));
      },
    });
    this.heartbeat.describe(async () => {
      const counts = await this.pipelines.getJobCounts(...QUEUE_STATES);
      return { queues: counts, bufferBacklog: this.buffers.backlog };
    });
  }
}
