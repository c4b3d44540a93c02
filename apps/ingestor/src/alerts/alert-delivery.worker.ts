import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { ALERT_DELIVERY_ATTEMPTS, AlertJobName, QueueName, type AlertDeliverJobData } from '@dash/domain';
import { AlertsRepository, createWorker, DASH_CONFIG, REDIS_WORKER, RedisKeys, type DashConfig, type RedisClient } from '@dash/infra';
import type { Job, Worker } from 'bullmq';
import { AlertDelivery } from './alert-delivery';
import { AlertEvaluator } from './alert-evaluator';

/** Errors are stored for people to read, not whole server transcripts. */
const MAX_ERROR_LENGTH = 500;

/** What delivering reads and records (AlertsRepository). */
export type DeliveryLog = Pick<AlertsRepository, 'delivery' | 'recordFailedAttempt' | 'recordSent' | 'recordGivenUp' | 'stateOf'>;

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
    @Inject(AlertsRepository) private readonly log: DeliveryLog,
    private readonly keys: RedisKeys,
    @Inject(AlertDelivery) private readonly delivery: Pick<AlertDelivery, 'send'>,
    @Inject(AlertEvaluator) private readonly evaluator: Pick<AlertEvaluator, 'announce'>,
    @Inject(REDIS_WORKER) private readonly connection: RedisClient,
  ) {}

  /**
   * One worker on the `mailers` queue; where the queue of the release before partitions can exist
   * (not on a cluster), one more on it, so a delivery retry left there by an upgrade still runs.
   */
  onApplicationBootstrap(): void {
    const prefixes = this.config.redis.topology === 'cluster' ? [this.keys.bull] : [this.keys.bull, this.keys.legacyBull];
    this.workers = prefixes.map((prefix) => {
      const worker = createWorker<AlertDeliverJobData, void>(QueueName.Mailers, { [AlertJobName.Deliver]: (job) => this.deliver(job) }, {
        connection: this.connection,
        keys: this.keys,
        prefix,
        logger: this.logger,
        concurrency: this.config.queues.mailers,
        // A delivery whose ingestor dies is taken over; a job that keeps killing its ingestors stops at last.
        maxStalledCount: 10,
      });
      // A job BullMQ gives up on by itself (stalled too often) is recorded too: no notification ends silently.
      worker.on('failed', (job, error) => {
        if (!job || !/stalled/i.test(error.message)) return;
        this.log
          .recordGivenUp(job.data.notificationId, error.message.slice(0, MAX_ERROR_LENGTH))
          .catch((failure: Error) => this.logger.warn(`could not record notification ${job.data.notificationId}: ${failure.message}`));
      });
      return worker;
    });
  }

  /** One attempt at one notification: recorded as sent, as failed (the last attempt), or as an error to retry. */
  async deliver(job: Pick<Job<AlertDeliverJobData>, 'data' | 'attemptsMade' | 'opts'>): Promise<void> {
    const row = await this.log.delivery(job.data.notificationId);
    // Gone with its alert, or settled by an earlier run of the same job (a sweep that re-added it).
    if (!row || row.status !== 'queued') return;
    const attempts = job.opts.attempts ?? ALERT_DELIVERY_ATTEMPTS;
    try {
      await this.delivery.send(row);
    } catch (error) {
      const message = ((error as Error).message || String(error)).slice(0, MAX_ERROR_LENGTH);
      const last = job.attemptsMade + 1 >= attempts;
      await this.log.recordFailedAttempt(row.id, message, last);
      this.logger.warn(`alert notification ${row.id} (${row.channel.type}) attempt ${job.attemptsMade + 1}/${attempts} failed: ${message}`);
      // Every attempt is announced: the page shows "retrying" and then "failed" as they happen.
      await this.settled(row.pipeline_id, row.alert_id);
      throw error;
    }
    await this.log.recordSent(row.id);
    await this.settled(row.pipeline_id, row.alert_id);
  }

  /** The page shows the notification log: tell it a notification changed. */
  private async settled(pipelineId: string, alertId: string): Promise<void> {
    const current = await this.log.stateOf(alertId);
    if (current) this.evaluator.announce({ pipelineId, alertId, state: current.state, since: current.since.toISOString() });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
  }
}
