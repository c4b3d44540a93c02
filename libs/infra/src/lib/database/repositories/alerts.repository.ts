import { Inject, Injectable } from '@nestjs/common';
import type { AlertChannel, AlertCondition, AlertInput, AlertNotificationKind, AlertNotificationStatus, AlertState } from '@dash/domain';
import type { Pool } from 'pg';
import { inTransaction } from '../transaction';
import { PG_POOL } from '../database.tokens';
import { ALERT_VERDICTS, APPLY_VERDICTS, applyParams, MARK_ENQUEUED, UNQUEUED_NOTIFICATIONS, verdictParams } from './alerts.sql';

/** One row of `alert_rules`, as the API shows it (never `met` or `flips`, the evaluator's own). */
export interface AlertRow {
  id: string;
  pipeline_id: string;
  name: string;
  condition: AlertCondition;
  channels: AlertChannel[];
  signing_secret: string | null;
  state: AlertState;
  since: Date;
  version: number;
  created_at: Date;
}

/** One line of an alert's notification log. */
export interface NotificationRow {
  alert_id: string;
  at: Date;
  channel: AlertChannel;
  kind: AlertNotificationKind;
  status: AlertNotificationStatus;
  attempts: number;
  error: string | null;
}

/** A notification with what its delivery needs: the alert and its pipeline. */
export interface DeliveryRow {
  id: string;
  kind: AlertNotificationKind;
  channel: AlertChannel;
  status: AlertNotificationStatus;
  at: Date;
  alert_id: string;
  alert_name: string;
  condition: AlertCondition;
  signing_secret: string | null;
  pipeline_id: string;
  pipeline_name: string;
}

/** An alert whose state a round changed. */
export interface AlertTransition {
  id: string;
  pipeline_id: string;
  state: AlertState;
  since: Date;
}

/** Pipelines recently answered `429`, and when (the web nodes keep them in Redis). */
export interface RecentRejections {
  pipelines: string[];
  times: string[];
}

const COLUMNS = 'id, pipeline_id, name, condition, channels, signing_secret, state, since, version, created_at';

const DELIVERY = `
  SELECT n.id, n.kind, n.channel, n.status, n.at, a.id AS alert_id, a.name AS alert_name, a.condition, a.signing_secret,
         p.id AS pipeline_id, p.name AS pipeline_name
  FROM alert_notifications n JOIN alert_rules a ON a.id = n.alert_id JOIN pipelines p ON p.id = a.pipeline_id
  WHERE n.id = $1`;

/** One lock across the cluster: rounds never overlap, so no stale verdict undoes a newer one, and flips are counted exactly. */
const ROUND_LOCK = `hashtext('dash_alert_round')`;

/** `alert_rules` (with their evaluation state) and `alert_notifications` (the delivery log). */
@Injectable()
export class AlertsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Oldest first. */
  async list(pipelineId: string): Promise<AlertRow[]> {
    const { rows } = await this.pool.query<AlertRow>(`SELECT ${COLUMNS} FROM alert_rules WHERE pipeline_id = $1 ORDER BY created_at, id`, [pipelineId]);
    return rows;
  }

  async find(pipelineId: string, alertId: string): Promise<AlertRow | null> {
    const { rows } = await this.pool.query<AlertRow>(`SELECT ${COLUMNS} FROM alert_rules WHERE pipeline_id = $1 AND id = $2`, [pipelineId, alertId]);
    return rows[0] ?? null;
  }

  /**
   * Adds an alert unless the pipeline has `max` already: `'full'` then, `null` when the pipeline
   * is gone. The pipeline's row is locked first, so concurrent creates count one after another
   * (the count runs in a statement of its own, which sees the creates committed meanwhile).
   */
  async create(pipelineId: string, alert: AlertInput, signingSecret: string | null, max: number): Promise<AlertRow | 'full' | null> {
    return inTransaction(this.pool, async (client) => {
      // NO KEY UPDATE: serialises the creates of one pipeline without blocking what only references it.
      const { rowCount } = await client.query('SELECT 1 FROM pipelines WHERE id = $1 FOR NO KEY UPDATE', [pipelineId]);
      if (!rowCount) return null;
      const { rows } = await client.query<AlertRow>(
        `INSERT INTO alert_rules (pipeline_id, name, condition, channels, signing_secret)
         SELECT $1, $2, $3, $4, $5 WHERE (SELECT count(*) FROM alert_rules WHERE pipeline_id = $1) < $6
         RETURNING ${COLUMNS}`,
        [pipelineId, alert.name, JSON.stringify(alert.condition), JSON.stringify(alert.channels), signingSecret, max],
      );
      return rows[0] ?? 'full';
    });
  }

  /** Replaces what the alert is made of; a secret is set only where it had none. Null: no such alert. */
  async update(pipelineId: string, alertId: string, alert: AlertInput, newSecret: string | null): Promise<AlertRow | null> {
    const { rows } = await this.pool.query<AlertRow>(
      `UPDATE alert_rules SET name = $3, condition = $4, channels = $5, signing_secret = coalesce(signing_secret, $6), version = version + 1
       WHERE pipeline_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [pipelineId, alertId, alert.name, JSON.stringify(alert.condition), JSON.stringify(alert.channels), newSecret],
    );
    return rows[0] ?? null;
  }

  /** Whether an alert was deleted (its notifications go with it). */
  async delete(pipelineId: string, alertId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM alert_rules WHERE pipeline_id = $1 AND id = $2', [pipelineId, alertId]);
    return (rowCount ?? 0) > 0;
  }

  /** The last `limit` notifications of each alert, newest first, in one query. */
  async lastNotifications(alertIds: readonly string[], limit: number): Promise<NotificationRow[]> {
    if (alertIds.length === 0) return [];
    const { rows } = await this.pool.query<NotificationRow>(
      `SELECT n.alert_id, n.at, n.channel, n.kind, n.status, n.attempts, n.error
       FROM unnest($1::uuid[]) AS a(id)
       CROSS JOIN LATERAL (
         SELECT * FROM alert_notifications WHERE alert_id = a.id ORDER BY at DESC, id DESC LIMIT $2
       ) n`,
      [alertIds, limit],
    );
    return rows;
  }

  /**
   * One evaluation round of every alert, in one transaction under the cluster-wide round lock:
   * the verdicts, then the state changes with their notifications (ALERT_VERDICTS, APPLY_VERDICTS).
   * Null when another round holds the lock (this one did nothing).
   */
  async evaluate(rejections: RecentRejections, lookbackSeconds: number): Promise<AlertTransition[] | null> {
    return inTransaction(this.pool, async (client) => {
      const { rows: lock } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(${ROUND_LOCK}) AS locked`);
      if (!lock[0].locked) return null;
      const { rows: verdicts } = await client.query<{ id: string; met: boolean }>(ALERT_VERDICTS, verdictParams(rejections, lookbackSeconds));
      if (verdicts.length === 0) return [];
      const { rows } = await client.query<AlertTransition>(APPLY_VERDICTS, applyParams(verdicts));
      return rows;
    });
  }

  /** Notifications committed but not yet handed to the delivery queue (a crash between the two included). */
  async unqueued(limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(UNQUEUED_NOTIFICATIONS, [limit]);
    return rows.map((row) => row.id);
  }

  async markEnqueued(ids: readonly string[]): Promise<void> {
    await this.pool.query(MARK_ENQUEUED, [ids]);
  }

  async delivery(notificationId: string): Promise<DeliveryRow | null> {
    const { rows } = await this.pool.query<DeliveryRow>(DELIVERY, [notificationId]);
    return rows[0] ?? null;
  }

  /** A failed attempt of a queued notification: still `queued` (to be retried), or `failed` when it was the last. */
  async recordFailedAttempt(notificationId: string, error: string, last: boolean): Promise<void> {
    await this.pool.query(`UPDATE alert_notifications SET attempts = attempts + 1, error = $2, status = $3 WHERE id = $1 AND status = 'queued'`, [
      notificationId,
      error,
      last ? 'failed' : 'queued',
    ]);
  }

  async recordSent(notificationId: string): Promise<void> {
    await this.pool.query(`UPDATE alert_notifications SET attempts = attempts + 1, error = NULL, status = 'sent' WHERE id = $1`, [notificationId]);
  }

  /** A delivery given up without a last attempt of its own (BullMQ failed it, stalled too often). */
  async recordGivenUp(notificationId: string, error: string): Promise<void> {
    await this.pool.query(`UPDATE alert_notifications SET status = 'failed', error = $2 WHERE id = $1 AND status = 'queued'`, [notificationId, error]);
  }

  async stateOf(alertId: string): Promise<{ state: AlertState; since: Date } | null> {
    const { rows } = await this.pool.query<{ state: AlertState; since: Date }>('SELECT state, since FROM alert_rules WHERE id = $1', [alertId]);
    return rows[0] ?? null;
  }
}
