import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { AlertChannel, AlertCondition, AlertNotificationKind, AlertWebhookBody } from '@dash/domain';
import { DASH_CONFIG, PG_POOL, type DashConfig } from '@dash/infra';
import { createTransport, type Transporter } from 'nodemailer';
import type { Pool } from 'pg';
import { Webhook } from 'standardwebhooks';
import { postAlert } from './alert-http';

/** A receiver or SMTP server gets this long per attempt; a slow one holds a single delivery slot no longer. */
export const DELIVERY_TIMEOUT_MS = 10_000;

export interface NotificationRow {
  id: string;
  kind: AlertNotificationKind;
  channel: AlertChannel;
  status: string;
  at: Date;
  alert_id: string;
  alert_name: string;
  condition: AlertCondition;
  signing_secret: string | null;
  pipeline_id: string;
  pipeline_name: string;
}

const NOTIFICATION = `
  SELECT n.id, n.kind, n.channel, n.status, n.at, a.id AS alert_id, a.name AS alert_name, a.condition, a.signing_secret,
         p.id AS pipeline_id, p.name AS pipeline_name
  FROM alert_notifications n JOIN alert_rules a ON a.id = n.alert_id JOIN pipelines p ON p.id = a.pipeline_id
  WHERE n.id = $1`;

/** Header values built from names a user typed: no line breaks or other control characters. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
const oneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();

function describe(condition: AlertCondition): string {
  switch (condition.type) {
    case 'silence':
      return `no event stored for ${condition.seconds} s`;
    case 'rate_above':
      return `more than ${condition.perMinute} events a minute over ${condition.seconds} s`;
    case 'rate_below':
      return `fewer than ${condition.perMinute} events a minute over ${condition.seconds} s`;
    case 'failures':
      return 'events could not be stored';
    case 'backlog_full':
      return 'senders were turned away (429 backlog_full)';
  }
}

/** Sends one notification through its channel: e-mail over SMTP_URL, or a signed webhook. */
@Injectable()
export class AlertDelivery implements OnApplicationShutdown {
  private mailer: Transporter | null = null;

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async load(notificationId: string): Promise<NotificationRow | null> {
    const { rows } = await this.pool.query<NotificationRow>(NOTIFICATION, [notificationId]);
    return rows[0] ?? null;
  }

  pageUrl(pipelineId: string): string {
    return `${this.config.publicUrl}/pipelines/${pipelineId}`;
  }

  async send(row: NotificationRow): Promise<void> {
    if (row.channel.type === 'email') await this.email(row, row.channel.to);
    else await this.webhook(row, row.channel.url);
  }

  private async email(row: NotificationRow, to: string[]): Promise<void> {
    if (!this.config.smtpUrl) throw new Error('SMTP_URL is not set on this ingestor');
    this.mailer ??= createTransport({
      url: this.config.smtpUrl,
      connectionTimeout: DELIVERY_TIMEOUT_MS,
      greetingTimeout: DELIVERY_TIMEOUT_MS,
      socketTimeout: DELIVERY_TIMEOUT_MS,
    });
    const verb = row.kind === 'firing' ? 'Firing' : 'Resolved';
    const link = this.pageUrl(row.pipeline_id);
    await this.mailer.sendMail({
      from: this.config.alerts.from,
      to,
      subject: oneLine(`[Dash] ${verb}: ${row.alert_name} on pipeline ${row.pipeline_name}`),
      text: [
        `${verb}: alert "${row.alert_name}" on pipeline "${row.pipeline_name}"`,
        `Condition: ${describe(row.condition)}`,
        `${row.kind === 'firing' ? 'Since' : 'Resolved at'}: ${row.at.toISOString()}`,
        '',
        `Open the pipeline: ${link}`,
      ].join('\n'),
    });
  }

  private async webhook(row: NotificationRow, url: string): Promise<void> {
    if (!row.signing_secret) throw new Error('the alert has no signing secret');
    const body: AlertWebhookBody = {
      type: row.kind === 'firing' ? 'alert.firing' : 'alert.resolved',
      alert: { id: row.alert_id, name: row.alert_name, condition: row.condition },
      pipeline: { id: row.pipeline_id, name: row.pipeline_name },
      at: row.at.toISOString(),
      url: this.pageUrl(row.pipeline_id),
    };
    const text = JSON.stringify(body);
    // The same id on every attempt, as Standard Webhooks asks, so receivers can deduplicate retries.
    const id = `alert_${row.id}`;
    const now = new Date();
    await postAlert({
      url,
      body: text,
      allowPrivate: this.config.outbound.allowPrivate,
      timeoutMs: DELIVERY_TIMEOUT_MS,
      headers: {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(row.signing_secret).sign(id, now, text),
      },
    });
  }

  onApplicationShutdown(): void {
    this.mailer?.close();
  }
}
