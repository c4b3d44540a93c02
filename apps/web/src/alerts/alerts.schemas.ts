import { MAX_ALERT_CHANNELS, MAX_EMAIL_RECIPIENTS, MIN_ALERT_WINDOW_SECONDS } from '@dash/domain';
import { z } from 'zod';
import { nameSchema } from '../http/zod-validation';

const window = (max: number) => z.number().int().min(MIN_ALERT_WINDOW_SECONDS, `must be at least ${MIN_ALERT_WINDOW_SECONDS} seconds`).max(max);
const perMinute = z.number().min(0).max(1_000_000_000);

// Rate windows are counted from raw events on every round: an hour bounds what one round reads.
export const conditionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('silence'), seconds: window(30 * 86_400) }).strict(),
  z.object({ type: z.literal('rate_above'), perMinute, seconds: window(3600) }).strict(),
  z.object({ type: z.literal('rate_below'), perMinute: perMinute.refine((value) => value > 0, 'must be above 0'), seconds: window(3600) }).strict(),
  z.object({ type: z.literal('failures'), seconds: window(86_400).optional() }).strict(),
  z.object({ type: z.literal('backlog_full'), seconds: window(86_400).optional() }).strict(),
]);

export const channelSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('email'), to: z.array(z.email().max(320)).min(1).max(MAX_EMAIL_RECIPIENTS, `at most ${MAX_EMAIL_RECIPIENTS} addresses per e-mail channel`) }).strict(),
  z.object({
    type: z.literal('webhook'),
    url: z.string().max(2000).refine((value) => {
      try {
        return ['http:', 'https:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, 'must be an http or https URL'),
  }).strict(),
]);

const name = nameSchema;
const channels = z.array(channelSchema).min(1).max(MAX_ALERT_CHANNELS, `at most ${MAX_ALERT_CHANNELS} channels per alert`);

export const createAlertSchema = z.object({ name, condition: conditionSchema, channels }).strict();
export const updateAlertSchema = z
  .object({ name: name.optional(), condition: conditionSchema.optional(), channels: channels.optional() })
  .strict()
  .refine((value) => Object.keys(value).length > 0, 'nothing to change: give name, condition or channels');

export type CreateAlert = z.infer<typeof createAlertSchema>;
export type UpdateAlert = z.infer<typeof updateAlertSchema>;
