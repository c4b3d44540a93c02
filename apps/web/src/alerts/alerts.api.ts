import { z } from 'zod';
import { isoTime, type RouteDoc } from '../openapi/route-doc';
import { channelSchema, conditionSchema, createAlertSchema, updateAlertSchema } from './alerts.schemas';

const notificationSchema = z.object({
  at: isoTime,
  channel: z.enum(['email', 'webhook']),
  kind: z.enum(['firing', 'resolved', 'flapping']).describe('flapping: sent once when the alert starts flapping; none follow until it has been steady for 10 minutes'),
  status: z.enum(['queued', 'sent', 'failed']),
  attempts: z.number().int(),
  error: z.string().nullable(),
});

export const alertSchema = z.object({
  id: z.string(),
  pipelineId: z.string(),
  name: z.string(),
  condition: conditionSchema,
  channels: z.array(z.union([channelSchema, z.object({ type: z.enum(['email', 'webhook']) })])).describe('a viewer token sees channel types only'),
  state: z.enum(['ok', 'firing', 'flapping']).describe('flapping: flipped between firing and resolved more than 3 times in 10 minutes; quiet until its condition holds steady for 10 minutes, then ok or firing again (with one notification saying which)'),
  since: isoTime,
  version: z.number().int(),
  createdAt: isoTime,
  notifications: z.array(notificationSchema).optional().describe('the last 50, newest first'),
});

const withSecret = alertSchema.extend({ signingSecret: z.string().optional().describe('whsec_…, with a webhook channel; shown only here') });

/** The alert routes (AlertsController), for the OpenAPI document. */
export const ALERT_ROUTES: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/pipelines/{id}/alerts',
    operationId: 'createAlert',
    description:
      'A notification goes out once when the alert starts firing (`firing`) and once when it stops (`resolved`). An alert that flips between them more than 3 times in 10 minutes becomes `flapping`: that flip sends one `flapping` notification instead, and none follow until its condition has held steady for 10 minutes; it then takes the condition\'s state and sends one `firing` or `resolved`. A webhook channel receives a POST of `{type: "alert.firing" | "alert.resolved" | "alert.flapping", alert: {id, name, condition}, pipeline: {id, name}, at, url}`, signed per Standard Webhooks with the alert\'s `signingSecret`; an e-mail channel a message titled `[Dash] Firing | Resolved | Flapping: <alert> on pipeline <pipeline>`.',
    summary: 'An alert rule: silence, rate_above, rate_below, failures or backlog_full, by e-mail or signed webhook (at most 20 per pipeline, 5 channels, 10 addresses per e-mail channel; more is 400)',
    access: 'admin',
    body: createAlertSchema,
    status: 201,
    response: withSecret,
    errors: [400, 404],
  },
  {
    method: 'get',
    path: '/api/pipelines/{id}/alerts',
    operationId: 'listAlerts',
    summary: 'The alert rules of a pipeline with their state and last notifications',
    access: 'reader',
    status: 200,
    response: z.object({
      items: z.array(alertSchema),
      emailAvailable: z.boolean().describe('whether this deployment sends e-mail (SMTP_URL set): without it, e-mail channels are refused with 400'),
    }),
  },
  {
    method: 'patch',
    path: '/api/pipelines/{id}/alerts/{alertId}',
    operationId: 'updateAlert',
    summary: 'Change an alert rule (name, condition, channels; the same limits as creating one)',
    access: 'admin',
    body: updateAlertSchema,
    status: 200,
    response: withSecret,
    errors: [400, 404],
  },
  {
    method: 'delete',
    path: '/api/pipelines/{id}/alerts/{alertId}',
    operationId: 'deleteAlert',
    summary: 'Remove an alert rule',
    access: 'admin',
    status: 204,
    errors: [404],
  },
];
