import { Injectable, type OnModuleInit } from '@nestjs/common';
import { QueueName } from '@dash/domain';
import { Backlog, ClusterHeartbeat, DashMetrics, IngestQueues, InjectQueue, QUEUE_STATES } from '@dash/infra';
import type { Queue } from 'bullmq';
import { BufferService } from '../buffer/buffer.service';

/** Adds this ingestor's queue depths and buffered events to its heartbeat and its metrics. */
@Injectable()
export class IngestorNodeDetails implements OnModuleInit {
  constructor(
    private readonly heartbeat: ClusterHeartbeat,
    private readonly buffers: BufferService,
    private readonly metrics: DashMetrics,
    private readonly pipelines: IngestQueues,
    @InjectQueue(QueueName.Default) private readonly defaultQueue: Queue,
    @InjectQueue(QueueName.Mailers) private readonly mailers: Queue,
    private readonly backlog: Backlog,
  ) {}

  onModuleInit(): void {
    this.metrics.provide({
      backlog: async () => (await this.backlog.totals()).total,
      // Every queue the ingestors work: ingest, polls and alert rounds, alert deliveries.
      queueJobs: async () => {
        const queues = [this.defaultQueue, this.mailers];
        const [pipelines, ...counts] = await Promise.all([this.pipelines.jobCounts(...QUEUE_STATES), ...queues.map((queue) => queue.getJobCounts(...QUEUE_STATES))]);
        return { [QueueName.Pipelines]: pipelines, ...Object.fromEntries(queues.map((queue, i) => [queue.name, counts[i]])) };
      },
    });
    this.heartbeat.describe(async () => {
      const counts = await this.pipelines.jobCounts(...QUEUE_STATES);
      return { queues: counts, bufferBacklog: this.buffers.backlog };
    });
  }
}
