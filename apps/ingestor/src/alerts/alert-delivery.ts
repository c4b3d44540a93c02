import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { describeCondition, FLAPPING_EXPLAINED, KIND_HEADINGS, type AlertWebhookBody } from '@dash/domain';
import { DASH_CONFIG, type DashConfig, type DeliveryRow } from '@dash/infra';
import { createTransport, type Transporter } from 'nodemailer';
import { Webhook } from 'standardwebhooks';
import { postAlert } from './alert-http';

/** A receiver or SMTP server gets this long per attempt; a slow one holds a single delivery slot no longer. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** Header values built from names a user typed: no line breaks or other control characters. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
const oneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();

/** Sends one notification through its channel: e-mail over SMTP_URL, or a signed webhook. */
@Injectable()
export class AlertDelivery implements OnApplicationShutdown {
  private mailer: Transporter | null = null;

  constructor(@Inject(DASH_CONFIG) private readonly config: DashConfig) {}

  pageUrl(pipelineId: string): string {
    return `${this.config.publicUrl}/pipelines/${pipelineId}`;
  }

  async send(row: DeliveryRow): Promise<void> {
    if (row.channel.type === 'email') await this.email(row, row.channel.to);
    else await this.webhook(row, row.channel.url);
  }

  private async email(row: DeliveryRow, to: string[]): Promise<void> {
    if (!this.config.smtpUrl) throw new Error('SMTP_URL is not set on this ingestor');
    this.mailer ??= createTransport({
      url: this.config.smtpUrl,
      connectionTimeout: DELIVERY_TIMEOUT_MS,
      greetingTimeout: DELIVERY_TIMEOUT_MS,
      socketTimeout: DELIVERY_TIMEOUT_MS,
    });
    const verb = KIND_HEADINGS[row.kind];
    const link = this.pageUrl(row.pipeline_id);
    await this.mailer.sendMail({
      from: this.config.alerts.from,
      to,
      subject: oneLine(`[Dash] ${verb}: ${row.alert_name} on pipeline ${row.pipeline_name}`),
      text: [
        `${verb}: alert "${row.alert_name}" on pipeline "${row.pipeline_name}"`,
        `Condition: ${describeCondition(row.condition)}`,
        ...(row.kind === 'flapping' ? [`Flapping: ${FLAPPING_EXPLAINED}.`] : []),
        `${row.kind === 'resolved' ? 'Resolved at' : 'Since'}: ${row.at.toISOString()}`,
        '',
        `Open the pipeline: ${link}`,
      ].join('\n'),
    });
  }

  private async webhook(row: DeliveryRow, url: string): Promise<void> {
    if (!row.signing_secret) throw new Error('the alert has no signing secret');
    const body: AlertWebhookBody = {
      type: `alert.${row.kind}`,
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
