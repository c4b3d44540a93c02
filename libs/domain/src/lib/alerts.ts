/** Alert rules: what a pipeline's watchers are told about, and how (CONTRACT.md, "Alerts"). */

export type AlertCondition =
  | { type: 'silence'; seconds: number }
  | { type: 'rate_above'; perMinute: number; seconds: number }
  | { type: 'rate_below'; perMinute: number; seconds: number }
  | { type: 'failures'; seconds?: number }
  | { type: 'backlog_full'; seconds?: number };

export type AlertChannel = { type: 'email'; to: string[] } | { type: 'webhook'; url: string };

export type AlertState = 'ok' | 'firing';
export type AlertNotificationKind = 'firing' | 'resolved';
export type AlertNotificationStatus = 'queued' | 'sent' | 'failed';

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
  type: 'alert.firing' | 'alert.resolved';
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
