import { Inject, Injectable } from '@nestjs/common';
import { DashError, generateSigningSecret, type AlertChannel, type AlertCondition, type AlertNotificationKind, type AlertNotificationStatus, type AlertState, type AlertView, type NotificationView } from '@dash/domain';
import { assertPublicUrl, DASH_CONFIG, PG_POOL, type DashConfig } from '@dash/infra';
import type { Pool } from 'pg';
import { isUuid } from '../pipelines/pipelines.schemas';
import { AlertChangesPublisher } from './alert-changes';
import type { CreateAlert, UpdateAlert } from './alerts.schemas';

/** Notifications listed with each alert. */
export const NOTIFICATIONS_LISTED = 50;

interface AlertRow {
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

const COLUMNS = 'id, pipeline_id, name, condition, channels, signing_secret, state, since, version, created_at';

/** Alert rules of a pipeline: stored here, evaluated and delivered by the ingestors. */
@Injectable()
export class AlertsService {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly changes: AlertChangesPublisher,
  ) {}

  async create(pipelineId: string, input: CreateAlert): Promise<AlertView & { signingSecret?: string }> {
    await this.checkChannels(input.channels);
    // The secret exists only for webhook channels, and is shown in this answer alone.
    const secret = input.channels.some((channel) => channel.type === 'webhook') ? generateSigningSecret() : null;
    const { rows } = await this.pool.query<AlertRow>(
      `INSERT INTO alert_rules (pipeline_id, name, condition, channels, signing_secret) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
      [pipelineId, input.name, JSON.stringify(input.condition), JSON.stringify(input.channels), secret],
    );
    await this.changes.announce(pipelineId, rows[0].id);
    return { ...toView(rows[0], true), ...(secret ? { signingSecret: secret } : {}) };
  }

  async list(pipelineId: string, full: boolean): Promise<{ items: AlertView[] }> {
    const { rows } = await this.pool.query<AlertRow>(`SELECT ${COLUMNS} FROM alert_rules WHERE pipeline_id = $1 ORDER BY created_at, id`, [pipelineId]);
    const notifications = await this.notifications(rows.map((row) => row.id));
    return { items: rows.map((row) => ({ ...toView(row, full), notifications: notifications.get(row.id) ?? [] })) };
  }

  async update(pipelineId: string, alertId: string, input: UpdateAlert): Promise<AlertView & { signingSecret?: string }> {
    const current = await this.row(pipelineId, alertId);
    if (input.channels) await this.checkChannels(input.channels);
    const channels = input.channels ?? current.channels;
    // A webhook channel added to an alert that had none gets the alert's first secret (shown once).
    const newSecret = !current.signing_secret && channels.some((channel) => channel.type === 'webhook') ? generateSigningSecret() : null;
    const { rows } = await this.pool.query<AlertRow>(
      `UPDATE alert_rules SET name = $3, condition = $4, channels = $5, signing_secret = coalesce(signing_secret, $6), version = version + 1
       WHERE pipeline_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [pipelineId, alertId, input.name ?? current.name, JSON.stringify(input.condition ?? current.condition), JSON.stringify(channels), newSecret],
    );
    if (!rows[0]) throw notFound(alertId);
    await this.changes.announce(pipelineId, alertId);
    return { ...toView(rows[0], true), ...(newSecret ? { signingSecret: newSecret } : {}) };
  }

  async remove(pipelineId: string, alertId: string): Promise<void> {
    if (!isUuid(alertId)) throw notFound(alertId);
    const { rowCount } = await this.pool.query('DELETE FROM alert_rules WHERE pipeline_id = $1 AND id = $2', [pipelineId, alertId]);
    if (!rowCount) throw notFound(alertId);
    await this.changes.announce(pipelineId, alertId);
  }

  private async row(pipelineId: string, alertId: string): Promise<AlertRow> {
    if (!isUuid(alertId)) throw notFound(alertId);
    const { rows } = await this.pool.query<AlertRow>(`SELECT ${COLUMNS} FROM alert_rules WHERE pipeline_id = $1 AND id = $2`, [pipelineId, alertId]);
    if (!rows[0]) throw notFound(alertId);
    return rows[0];
  }

  private async checkChannels(channels: AlertChannel[]): Promise<void> {
    for (const channel of channels) {
      if (channel.type === 'email' && !this.config.smtpUrl) {
        throw new DashError(400, 'invalid_request', 'channels: e-mail alerts need SMTP_URL, which this deployment does not set');
      }
      if (channel.type === 'webhook') await assertPublicUrl(channel.url, this.config.outbound.allowPrivate);
    }
  }

  /** The last notifications of each alert, in one query. */
  private async notifications(alertIds: string[]): Promise<Map<string, NotificationView[]>> {
    const byAlert = new Map<string, NotificationView[]>();
    if (alertIds.length === 0) return byAlert;
    const { rows } = await this.pool.query<{ alert_id: string; at: Date; channel: AlertChannel; kind: AlertNotificationKind; status: AlertNotificationStatus; attempts: number; error: string | null }>(
      `SELECT n.alert_id, n.at, n.channel, n.kind, n.status, n.attempts, n.error
       FROM unnest($1::uuid[]) AS a(id)
       CROSS JOIN LATERAL (
         SELECT * FROM alert_notifications WHERE alert_id = a.id ORDER BY at DESC, id DESC LIMIT ${NOTIFICATIONS_LISTED}
       ) n`,
      [alertIds],
    );
    for (const row of rows) {
      const list = byAlert.get(row.alert_id) ?? [];
      list.push({ at: row.at.toISOString(), channel: row.channel.type, kind: row.kind, status: row.status, attempts: row.attempts, error: row.error });
      byAlert.set(row.alert_id, list);
    }
    return byAlert;
  }
}

const notFound = (alertId: string) => new DashError(404, 'not_found', `no alert ${alertId} on this pipeline`);

function toView(row: AlertRow, full: boolean): AlertView {
  return {
    id: row.id,
    pipelineId: row.pipeline_id,
    name: row.name,
    condition: row.condition,
    channels: full ? row.channels : row.channels.map((channel) => ({ type: channel.type })),
    state: row.state,
    since: row.since.toISOString(),
    version: row.version,
    createdAt: row.created_at.toISOString(),
  };
}
