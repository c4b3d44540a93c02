import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { JobName, QueueName, type IngestJobData } from '@dash/domain';
import { Backlog, createRedis, DASH_CONFIG, quit, REDIS, RedisKeys, type DashConfig } from '@dash/infra';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { BufferService } from '../buffer/buffer.service';

/**
 * Lock and stall settings: a killed ingestor's jobs are taken over within seconds
 * (lock 10 s, stall check every 5 s), while a healthy worker renews its locks every 5 s.
 * A job may stall many times (an ingestor killed repeatedly) without ever being failed for it.
 */
export const INGEST_WORKER_OPTIONS = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 1000 } as const;

/**
 * Consumes the `pipelines` queue: each ingest job's events go to the buffers, and the job
 * completes only once they are committed.
 */
@Injectable()
export class IngestWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(IngestWorker.name);
  private readonly connection: Redis;
  private readonly backlog: Backlog;
  private worker: Worker<IngestJobData> | null = null;

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    @Inject(REDIS) redis: Redis,
    private readonly keys: RedisKeys,
    private readonly buffers: BufferService,
  ) {
    this.connection = createRedis(config.redisUrl, 'worker', 'ingest-worker');
    this.backlog = new Backlog(redis, keys);
  }

  onApplicationBootstrap(): void {
    this.worker = new Worker<IngestJobData>(QueueName.Pipelines, (job) => this.process(job), {
      connection: this.connection,
      prefix: this.keys.bull,
      concurrency: this.config.queues.pipelines,
      ...INGEST_WORKER_OPTIONS,
    });
    this.worker.on('error', (error) => this.logger.warn(`worker: ${error.message}`));
    this.worker.on('failed', (job, error) => this.logger.warn(`job ${job?.id} failed (attempt ${job?.attemptsMade}): ${error.message}`));
  }

  private async process(job: Job<IngestJobData>): Promise<void> {
    if (job.name !== JobName.Ingest) throw new Error(`unknown job ${job.name}`);
    await this.buffers.add(job.data.events);
    await this.backlog.release(job.id as string).catch((error: Error) => this.logger.warn(`backlog release: ${error.message}`));
  }

  /** SIGTERM: stop taking jobs, let the active ones commit, then close the worker. */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.worker) return;
    const closing = this.worker.close();
    // If the database is away, in-flight flushes give up so the jobs go back to the queue.
    const timer = setTimeout(() => this.buffers.stop(), 10_000);
    await closing;
    clearTimeout(timer);
    await quit(this.connection);
  }
}
