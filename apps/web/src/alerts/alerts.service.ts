import { Inject, Injectable } from '@nestjs/common';
import { DashError, generateSigningSecret, MAX_ALERTS_PER_PIPELINE, type AlertChannel, type AlertList, type AlertView, type NotificationView } from '@dash/domain';
import { AlertsRepository, assertPublicUrl, DASH_CONFIG, type AlertRow, type DashConfig } from '@dash/infra';
import { isUuid } from '../pipelines/pipelines.schemas';
import { AlertChangesPublisher } from './alert-changes';
import type { CreateAlert, UpdateAlert } from './alerts.schemas';

/** Notifications listed with each alert. */
export const NOTIFICATIONS_LISTED = 50;

/** Alert rules of a pipeline: stored here, evaluated and delivered by the ingestors. */
@Injectable()
export class AlertsService {
  constructor(
    @Inject(AlertsRepository) private readonly alerts: Pick<AlertsRepository, 'list' | 'find' | 'create' | 'update' | 'delete' | 'lastNotifications'>,
    @Inject(DASH_CONFIG) private readonly config: Pick<DashConfig, 'smtpUrl' | 'outbound'>,
    @Inject(AlertChangesPublisher) private readonly changes: Pick<AlertChangesPublisher, 'announce'>,
  ) {}

  async create(pipelineId: string, input: CreateAlert): Promise<AlertView & { signingSecret?: string }> {
    await this.checkChannels(input.channels);
    // The secret exists only for webhook channels, and is shown in this answer alone.
    const secret = input.channels.some((channel) => channel.type === 'webhook') ? generateSigningSecret() : null;
    const row = await this.alerts.create(pipelineId, input, secret, MAX_ALERTS_PER_PIPELINE);
    if (row === null) throw new DashError(404, 'not_found', `no pipeline ${pipelineId}`);
    if (row === 'full') throw new DashError(400, 'invalid_request', `a pipeline has at most ${MAX_ALERTS_PER_PIPELINE} alerts: delete or change one instead`);
    await this.changes.announce(pipelineId, row.id);
    return { ...toView(row, true), ...(secret ? { signingSecret: secret } : {}) };
  }

  async list(pipelineId: string, full: boolean): Promise<AlertList> {
    const rows = await this.alerts.list(pipelineId);
    const byAlert = new Map<string, NotificationView[]>();
    for (const n of await this.alerts.lastNotifications(rows.map((row) => row.id), NOTIFICATIONS_LISTED)) {
      const list = byAlert.get(n.alert_id) ?? [];
      list.push({ at: n.at.toISOString(), channel: n.channel.type, kind: n.kind, status: n.status, attempts: n.attempts, error: n.error });
      byAlert.set(n.alert_id, list);
    }
    return { items: rows.map((row) => ({ ...toView(row, full), notifications: byAlert.get(row.id) ?? [] })), emailAvailable: Boolean(this.config.smtpUrl) };
  }

  async update(pipelineId: string, alertId: string, input: UpdateAlert): Promise<AlertView & { signingSecret?: string }> {
    const current = isUuid(alertId) ? await this.alerts.find(pipelineId, alertId) : null;
    if (!current) throw notFound(alertId);
    if (input.channels) await this.checkChannels(input.channels);
    const channels = input.channels ?? current.channels;
    // A webhook channel added to an alert that had none gets the alert's first secret (shown once).
    const newSecret = !current.signing_secret && channels.some((channel) => channel.type === 'webhook') ? generateSigningSecret() : null;
    const row = await this.alerts.update(pipelineId, alertId, { name: input.name ?? current.name, condition: input.condition ?? current.condition, channels }, newSecret);
    if (!row) throw notFound(alertId);
    await this.changes.announce(pipelineId, alertId);
    return { ...toView(row, true), ...(newSecret ? { signingSecret: newSecret } : {}) };
  }

  async remove(pipelineId: string, alertId: string): Promise<void> {
    if (!isUuid(alertId) || !(await this.alerts.delete(pipelineId, alertId))) throw notFound(alertId);
    await this.changes.announce(pipelineId, alertId);
  }

  private async checkChannels(channels: AlertChannel[]): Promise<void> {
    for (const channel of channels) {
      if (channel.type === 'email' && !this.config.smtpUrl) {
        throw new DashError(400, 'invalid_request', 'channels: e-mail alerts need SMTP_URL, which this deployment does not set');
      }
      if (channel.type === 'webhook') await assertPublicUrl(channel.url, this.config.outbound.allowPrivate);
    }
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
