import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { ALERT_DELIVERY_ATTEMPTS, AlertJobName, QueueName, type AlertDeliverJobData } from '@dash/domain';
import { DASH_CONFIG, dispatchJobs, PG_POOL, REDIS_WORKER, RedisKeys, type DashConfig } from '@dash/infra';
import { Worker, type Job } from 'bullmq';
import type { RedisClient } from '@dash/infra';
import type { Pool } from 'pg';
import { AlertDelivery } from './alert-delivery';
import { AlertEvaluator } from './alert-evaluator';

/** Errors are stored for people to read, not whole server transcripts. */
const MAX_ERROR_LENGTH = 500;

/**
 * Delivers alert notifications from the `mailers` queue, apart from ingest (its own queue and
 * concurrency): BullMQ retries a failed delivery with exponential backoff and jitter; the last
 * failure is recorded in the log as `failed` with its error.
 */
@Injectable()
export class AlertDeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(AlertDeliveryWorker.name);
  private workers: Array<Worker<AlertDeliverJobData>> = [];

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly keys: RedisKeys,
    private readonly delivery: AlertDelivery,
    private readonly evaluator: AlertEvaluator,
    @Inject(REDIS_WORKER) private readonly connection: RedisClient,
  ) {}

  /**
   * One worker on the `mailers` queue; where the queue of the release before partitions can exist
   * (not on a cluster), one more on it, so a delivery retry left there by an upgrade still runs.
   */
  onApplicationBootstrap(): void {
    const processor = dispatchJobs(QueueName.Mailers, { [AlertJobName.Deliver]: (job: Job<AlertDeliverJobData>) => this.deliver(job) }, this.logger);
    const prefixes = this.config.redis.topology === 'cluster' ? [this.keys.bull] : [this.keys.bull, this.keys.legacyBull];
    this.workers = prefixes.map((prefix) => {
      const worker = new Worker<AlertDeliverJobData>(QueueName.Mailers, processor, {
        connection: this.connection,
        prefix,
        concurrency: this.config.queues.mailers,
        // A delivery whose ingestor dies is taken over; a job that keeps killing its ingestors stops at last.
        maxStalledCount: 10,
      });
      worker.on('error', (error) => this.logger.warn(`worker ${prefix}: ${error.message}`));
      // A job BullMQ gives up on by itself (stalled too often) is recorded too: no notification ends silently.
      worker.on('failed', (job, error) => {
        if (!job || !/stalled/i.test(error.message)) return;
        this.pool
          .query(`UPDATE alert_notifications SET status = 'failed', error = $2 WHERE id = $1 AND status = 'queued'`, [job.data.notificationId, error.message.slice(0, MAX_ERROR_LENGTH)])
          .catch((failure: Error) => this.logger.warn(`could not record notification ${job.data.notificationId}: ${failure.message}`));
      });
      return worker;
    });
  }

  private async deliver(job: Job<AlertDeliverJobData>): Promise<void> {
    const row = await this.delivery.load(job.data.notificationId);
    // Gone with its alert, or settled by an earlier run of the same job (a sweep that re-added it).
    if (!row || row.status !== 'queued') return;
    const attempts = job.opts.attempts ?? ALERT_DELIVERY_ATTEMPTS;
    try {
      await this.delivery.send(row);
    } catch (error) {
      const message = ((error as Error).message || String(error)).slice(0, MAX_ERROR_LENGTH);
      const last = job.attemptsMade + 1 >= attempts;
      await this.pool.query(`UPDATE alert_notifications SET attempts = attempts + 1, error = $2, status = $3 WHERE id = $1 AND status = 'queued'`, [row.id, message, last ? 'failed' : 'queued']);
      this.logger.warn(`alert notification ${row.id} (${row.channel.type}) attempt ${job.attemptsMade + 1}/${attempts} failed: ${message}`);
      if (last) await this.settled(row.pipeline_id, row.alert_id);
      throw error;
    }
    await this.pool.query(`UPDATE alert_notifications SET attempts = attempts + 1, error = NULL, status = 'sent' WHERE id = $1`, [row.id]);
    await this.settled(row.pipeline_id, row.alert_id);
  }

  /** The page shows the notification log: tell it a notification settled. */
  private async settled(pipelineId: string, alertId: string): Promise<void> {
    const { rows } = await this.pool.query<{ state: 'ok' | 'firing'; since: Date }>('SELECT state, since FROM alert_rules WHERE id = $1', [alertId]);
    if (rows[0]) this.evaluator.announce({ pipelineId, alertId, state: rows[0].state, since: rows[0].since.toISOString() });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
  }
}
