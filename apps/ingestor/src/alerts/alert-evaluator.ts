import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import {
  AlertJobName,
  DEFAULT_ALERT_LOOKBACK_SECONDS,
  Jobs,
  QueueName,
  type AlertDeliverJobData,
  type AlertState,
  type AlertUpdated,
} from '@dash/domain';
import { DASH_CONFIG, InjectQueue, PG_POOL, REDIS, RedisKeys, type DashConfig } from '@dash/infra';
import type { Queue } from 'bullmq';
import type { RedisClient } from '@dash/infra';
import type { Pool } from 'pg';
import { LivePublisher } from '../live/live-publisher';
import { ALERT_VERDICTS, APPLY_TRANSITIONS, MARK_ENQUEUED, UNQUEUED_NOTIFICATIONS } from './alert-evaluator.sql';

/** How often the cluster evaluates every alert (one BullMQ job scheduler, one run per tick). */
export const EVALUATE_EVERY_MS = 1000;
const SCHEDULER_ID = 'alerts-evaluate';
/** Rejections older than any window a rule may use are dropped from Redis. */
const MAX_BACKLOG_LOOKBACK_MS = 86_400_000;
/** Notifications handed to the queue per round (the rest go next round). */
const ENQUEUE_BATCH = 1000;
const SCHEDULER_RETRY_MS = 2000;
/** One lock across the cluster: rounds never overlap, so no stale verdict undoes a newer one. */
const ROUND_LOCK = `hashtext('dash_alert_round')`;

export const deliverJobId = (notificationId: string) => `alert-notification-${notificationId}`;

export interface RoundResult {
  /** False when another round held the lock (this one did nothing). */
  ran: boolean;
  transitions: number;
  enqueued: number;
}

/**
 * Evaluates every alert rule in a few set-based statements per round and turns state changes
 * into notifications in the same transaction; then hands unqueued notifications to the
 * `mailers` queue with the notification's id as job id, so neither a repeated round nor a
 * crash between commit and enqueue can lose or double one.
 */
@Injectable()
export class AlertEvaluator implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AlertEvaluator.name);
  private closing = false;

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly live: LivePublisher,
    private readonly keys: RedisKeys,
    @InjectQueue(QueueName.Default) private readonly rounds: Queue,
    @InjectQueue(QueueName.Mailers) private readonly deliveries: Queue<AlertDeliverJobData>,
  ) {}

  onApplicationBootstrap(): void {
    // Again whenever Redis comes back: a Redis (or a master) that returns empty has lost the
    // scheduler, and alert rounds would stop until a restart. Upserting an existing one changes nothing.
    this.redis.on('ready', () => void this.ensureScheduler());
    void this.ensureScheduler();
  }

  private scheduling: Promise<void> | null = null;

  /**
   * Every ingestor upserts the same scheduler: BullMQ keeps one, and gives each run to one worker.
   * In the background and retried, so an ingestor starting while Redis is away still starts.
   */
  private ensureScheduler(): Promise<void> {
    this.scheduling ??= this.upsertScheduler().finally(() => (this.scheduling = null));
    return this.scheduling;
  }

  private async upsertScheduler(): Promise<void> {
    while (!this.closing) {
      try {
        await this.rounds.upsertJobScheduler(SCHEDULER_ID, { every: EVALUATE_EVERY_MS }, { name: AlertJobName.Evaluate, data: {}, opts: Jobs[AlertJobName.Evaluate].options });
        return;
      } catch (error) {
        this.logger.warn(`could not schedule alert rounds (retrying): ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, SCHEDULER_RETRY_MS).unref());
      }
    }
  }

  /** A rule changed: evaluate now rather than at the next tick (one job, however many ingestors ask). */
  async evaluateSoon(): Promise<void> {
    // Removed once done or failed: the next change asks again under the same id.
    await this.rounds.add(AlertJobName.Evaluate, {}, { ...Jobs[AlertJobName.Evaluate].options, jobId: `${SCHEDULER_ID}-now`, removeOnFail: true });
  }

  async round(): Promise<RoundResult> {
    const [pipelines, times] = await this.recentRejections();
    const client = await this.pool.connect();
    let changed: Array<{ id: string; pipeline_id: string; state: AlertState; since: Date }> = [];
    try {
      await client.query('BEGIN');
      const { rows: lock } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(${ROUND_LOCK}) AS locked`);
      if (!lock[0].locked) {
        await client.query('ROLLBACK');
        return { ran: false, transitions: 0, enqueued: 0 };
      }
      const { rows: verdicts } = await client.query<{ id: string; to_state: AlertState }>(ALERT_VERDICTS, [pipelines, times, DEFAULT_ALERT_LOOKBACK_SECONDS]);
      if (verdicts.length > 0) {
        ({ rows: changed } = await client.query(APPLY_TRANSITIONS, [verdicts.map((v) => v.id), verdicts.map((v) => v.to_state)]));
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    for (const row of changed) {
      this.logger.log(`alert ${row.id} of pipeline ${row.pipeline_id} is ${row.state}`);
      this.announce({ pipelineId: row.pipeline_id, alertId: row.id, state: row.state, since: row.since.toISOString() });
    }
    const enqueued = await this.enqueuePending();
    return { ran: true, transitions: changed.length, enqueued };
  }

  /** Hands committed notifications to the delivery queue; also the sweep for those a crash left behind. */
  async enqueuePending(): Promise<number> {
    const { rows } = await this.pool.query<{ id: string }>(UNQUEUED_NOTIFICATIONS, [ENQUEUE_BATCH]);
    if (rows.length === 0) return 0;
    const base = this.config.alerts.retryBaseMs;
    const options = Jobs[AlertJobName.Deliver].options;
    await this.deliveries.addBulk(
      rows.map(({ id }) => ({
        name: AlertJobName.Deliver,
        data: { notificationId: id },
        opts: { ...options, jobId: deliverJobId(id), backoff: { ...options.backoff, delay: base } },
      })),
    );
    await this.pool.query(MARK_ENQUEUED, [rows.map((row) => row.id)]);
    return rows.length;
  }

  /** State and notification changes reach the browsers as every live update does: through the socket.io adapter. */
  announce(update: AlertUpdated): void {
    this.live.alertUpdated(update);
  }

  /** Pipelines answered 429 recently, from the sorted set the web nodes keep; old entries trimmed. */
  private async recentRejections(): Promise<[string[], string[]]> {
    const key = this.keys.backlogRejections;
    const now = Date.now();
    const results = await this.redis
      .multi()
      .zremrangebyscore(key, '-inf', now - MAX_BACKLOG_LOOKBACK_MS)
      .zrange(key, 0, -1, 'WITHSCORES')
      .exec();
    const flat = (results?.[1]?.[1] as string[] | undefined) ?? [];
    const pipelines: string[] = [];
    const times: string[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      pipelines.push(flat[i]);
      times.push(new Date(Number(flat[i + 1])).toISOString());
    }
    return [pipelines, times];
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
  }
}
