/** Alert rules: what a pipeline's watchers are told about, and how (CONTRACT.md, "Alerts"). */

export type AlertCondition =
  | { type: 'silence'; seconds: number }
  | { type: 'rate_above'; perMinute: number; seconds: number }
  | { type: 'rate_below'; perMinute: number; seconds: number }
  | { type: 'failures'; seconds?: number }
  | { type: 'backlog_full'; seconds?: number };

export type AlertChannel = { type: 'email'; to: string[] } | { type: 'webhook'; url: string };

/** `flapping`: the condition changed too often lately (FLAP_MAX_FLIPS within FLAP_WINDOW_SECONDS); quiet until steady. */
export type AlertState = 'ok' | 'firing' | 'flapping';
export type AlertNotificationKind = 'firing' | 'resolved' | 'flapping';
export type AlertNotificationStatus = 'queued' | 'sent' | 'failed';

/** What one pipeline's owner can make Dash send (CONTRACT.md: more is refused with 400). */
export const MAX_ALERTS_PER_PIPELINE = 20;
export const MAX_ALERT_CHANNELS = 5;
export const MAX_EMAIL_RECIPIENTS = 10;

/** More than this many flips (firing ↔ resolved) within FLAP_WINDOW_SECONDS make an alert `flapping`. */
export const FLAP_MAX_FLIPS = 3;
/** The window flips are counted over; a flapping alert settles once its condition held this long unchanged. */
export const FLAP_WINDOW_SECONDS = 600;

/** The shortest window a condition may use. */
export const MIN_ALERT_WINDOW_SECONDS = 10;
/** `failures` and `backlog_full` look back this far unless told otherwise: they resolve after this long without one. */
export const DEFAULT_ALERT_LOOKBACK_SECONDS = 60;

/** Delivery attempts of one notification (the first one included) before it is recorded as failed. */
export const ALERT_DELIVERY_ATTEMPTS = 6;

export const AlertJobName = {
  /** One evaluation round of every alert rule (a job scheduler on the `default` queue). */
  Evaluate: 'alerts.evaluate',
  /** One notification through one channel (the `mailers` queue). */
  Deliver: 'alerts.deliver',
} as const;
export type AlertJobName = (typeof AlertJobName)[keyof typeof AlertJobName];

export interface AlertDeliverJobData {
  notificationId: string;
}

/** The body of an alert webhook, signed per Standard Webhooks with the alert's secret. */
export interface AlertWebhookBody {
  type: `alert.${AlertNotificationKind}`;
  alert: { id: string; name: string; condition: AlertCondition };
  pipeline: { id: string; name: string };
  at: string;
  url: string;
}

/** Broadcast on the NestJS Redis transport by web nodes when a rule is created, changed or removed. */
export const ALERT_RULES_CHANGED = 'alert.rules_changed';
export interface AlertRulesChanged {
  scope: string;
  pipelineId: string;
  alertId: string;
}

/**
 * Socket event `alert_updated`: an alert of the room's pipeline changed state or a notification
 * settled; read `GET …/alerts` again. Sent by the ingestors through the socket.io adapter.
 */
export interface AlertUpdated {
  pipelineId: string;
  alertId: string;
  state: AlertState;
  since: string;
}

/** The condition in words, as the page, e-mails and logs say it (one wording everywhere). */
export function describeCondition(condition: AlertCondition): string {
  switch (condition.type) {
    case 'silence':
      return `no event stored for ${condition.seconds} s`;
    case 'rate_above':
      return `more than ${condition.perMinute} events a minute over ${condition.seconds} s`;
    case 'rate_below':
      return `fewer than ${condition.perMinute} events a minute over ${condition.seconds} s`;
    case 'failures':
      return 'an event could not be stored';
    case 'backlog_full':
      return 'webhooks were refused with 429 (backlog full)';
  }
}

/** A notification's kind as a heading (e-mail subjects). */
export const KIND_HEADINGS: Record<AlertNotificationKind, string> = { firing: 'Firing', resolved: 'Resolved', flapping: 'Flapping' };

/** What `flapping` means, where it is shown (e-mails, the page). */
export const FLAPPING_EXPLAINED = `it changed between firing and resolved more than ${FLAP_MAX_FLIPS} times in ${FLAP_WINDOW_SECONDS / 60} minutes: no notification until it has been steady for ${FLAP_WINDOW_SECONDS / 60} minutes`;

/** The outcome of one delivery in words: `sent`, `retrying (attempt 2 failed: …)`, `failed: … after 6 attempts`. */
export function describeDelivery(notification: { status: AlertNotificationStatus; attempts: number; error: string | null }): string {
  const { status, attempts, error } = notification;
  const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
  switch (status) {
    case 'sent':
      return attempts > 1 ? `sent after ${tries}` : 'sent';
    case 'failed':
      return `failed${error ? `: ${error}` : ''} after ${tries}`;
    case 'queued':
      return attempts > 0 ? `retrying (attempt ${attempts} failed${error ? `: ${error}` : ''})` : 'queued';
  }
}
