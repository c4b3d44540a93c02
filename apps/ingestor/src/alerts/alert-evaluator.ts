import { Inject, Injectable, Logger } from '@nestjs/common';
import { AlertJobName, DEFAULT_ALERT_LOOKBACK_SECONDS, Jobs, QueueName, type AlertDeliverJobData, type AlertUpdated } from '@dash/domain';
import { AlertsRepository, DASH_CONFIG, InjectQueue, REDIS, RedisKeys, type DashConfig, type RecentRejections } from '@dash/infra';
import type { Queue } from 'bullmq';
import type { RedisClient } from '@dash/infra';
import { LivePublisher } from '../live/live-publisher';

/** Rejections older than any window a rule may use are dropped from Redis. */
const MAX_BACKLOG_LOOKBACK_MS = 86_400_000;
/** Notifications handed to the queue per round (the rest go next round). */
const ENQUEUE_BATCH = 1000;

export const deliverJobId = (notificationId: string) => `alert-notification-${notificationId}`;

export interface RoundResult {
  /** False when another round held the lock (this one did nothing). */
  ran: boolean;
  transitions: number;
  enqueued: number;
}

/**
 * Evaluates every alert rule in a few set-based statements per round (AlertsRepository.evaluate),
 * state changes and their notifications in one transaction; then hands unqueued notifications to
 * the `mailers` queue with the notification's id as job id, so neither a repeated round nor a
 * crash between commit and enqueue can lose or double one.
 */
@Injectable()
export class AlertEvaluator {
  private readonly logger = new Logger(AlertEvaluator.name);

  constructor(
    @Inject(DASH_CONFIG) private readonly config: Pick<DashConfig, 'keyPrefix' | 'alerts'>,
    @Inject(AlertsRepository) private readonly alerts: Pick<AlertsRepository, 'evaluate' | 'unqueued' | 'markEnqueued'>,
    @Inject(REDIS) private readonly redis: Pick<RedisClient, 'multi'>,
    @Inject(LivePublisher) private readonly live: Pick<LivePublisher, 'alertUpdated'>,
    @Inject(RedisKeys) private readonly keys: Pick<RedisKeys, 'backlogRejections'>,
    @InjectQueue(QueueName.Mailers) private readonly deliveries: Pick<Queue<AlertDeliverJobData>, 'addBulk'>,
  ) {}

  async round(): Promise<RoundResult> {
    const changed = await this.alerts.evaluate(await this.recentRejections(), DEFAULT_ALERT_LOOKBACK_SECONDS);
    if (changed === null) return { ran: false, transitions: 0, enqueued: 0 };
    for (const row of changed) {
      this.logger.log(`alert ${row.id} of pipeline ${row.pipeline_id} is ${row.state}`);
      this.announce({ pipelineId: row.pipeline_id, alertId: row.id, state: row.state, since: row.since.toISOString() });
    }
    const enqueued = await this.enqueuePending();
    return { ran: true, transitions: changed.length, enqueued };
  }

  /** Hands committed notifications to the delivery queue; also the sweep for those a crash left behind. */
  async enqueuePending(): Promise<number> {
    const ids = await this.alerts.unqueued(ENQUEUE_BATCH);
    if (ids.length === 0) return 0;
    const options = Jobs[AlertJobName.Deliver].options;
    const backoff = { ...options.backoff, delay: this.config.alerts.retryBaseMs };
    await this.deliveries.addBulk(ids.map((id) => ({ name: AlertJobName.Deliver, data: { notificationId: id }, opts: { ...options, jobId: deliverJobId(id), backoff } })));
    await this.alerts.markEnqueued(ids);
    return ids.length;
  }

  /** State and notification changes reach the browsers as every live update does: through the socket.io adapter. */
  announce(update: AlertUpdated): void {
    this.live.alertUpdated(update);
  }

  /** Pipelines answered 429 recently, from the sorted set the web nodes keep; old entries trimmed. */
  private async recentRejections(): Promise<RecentRejections> {
    const key = this.keys.backlogRejections;
    const results = await this.redis
      .multi()
      .zremrangebyscore(key, '-inf', Date.now() - MAX_BACKLOG_LOOKBACK_MS)
      .zrange(key, 0, -1, 'WITHSCORES')
      .exec();
    const flat = (results?.[1]?.[1] as string[] | undefined) ?? [];
    const rejections: RecentRejections = { pipelines: [], times: [] };
    for (let i = 0; i + 1 < flat.length; i += 2) {
      rejections.pipelines.push(flat[i]);
      rejections.times.push(new Date(Number(flat[i + 1])).toISOString());
    }
    return rejections;
  }
}
