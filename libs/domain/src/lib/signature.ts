import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DashError } from './errors';

const SECRET_PREFIX = 'whsec_';

/** A new Standard Webhooks signing secret: `whsec_` and 24 random bytes in base64. */
export function generateSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}

/** The HMAC key behind a `whsec_…` secret (a bare base64 secret is accepted too). */
export function decodeSigningSecret(secret: string): Buffer {
  const base64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(base64, 'base64');
}

function hmac(key: Buffer, id: string, timestamp: string, body: Buffer | string): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

/** `v1,<base64>` for a message, as a Standard Webhooks sender computes it. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: Buffer | string): string {
  return `v1,${hmac(decodeSigningSecret(secret), id, String(timestampSeconds), body).toString('base64')}`;
}

export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/**
 * Verifies a delivery per the Standard Webhooks specification: every `v1,` signature in
 * the header is compared in constant time against every key (current and previous secret).
 * Throws a 401 DashError naming what is wrong.
 */
export function verifyWebhook(
  keys: readonly Buffer[],
  headers: WebhookHeaders,
  body: Buffer,
  toleranceSeconds: number,
  nowMs: number = Date.now(),
): void {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) {
    throw new DashError(401, 'missing_signature', 'webhook-id, webhook-timestamp and webhook-signature headers (or their svix- twins) are required');
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    throw new DashError(401, 'invalid_signature', 'webhook-timestamp must be whole seconds since the epoch');
  }
  const skew = Math.abs(nowMs / 1000 - Number(timestamp));
  if (skew > toleranceSeconds) {
    throw new DashError(401, 'timestamp_out_of_tolerance', `webhook-timestamp is ${Math.round(skew)} s away from now (tolerance ${toleranceSeconds} s)`);
  }
  const candidates: Buffer[] = [];
  for (const part of signature.split(' ')) {
    const comma = part.indexOf(',');
    if (comma < 0 || part.slice(0, comma) !== 'v1') continue;
    const decoded = Buffer.from(part.slice(comma + 1), 'base64');
    if (decoded.length === 32) candidates.push(decoded);
  }
  for (const key of keys) {
    const expected = hmac(key, id, timestamp, body);
    // Check every candidate so the time taken does not depend on which one matched.
    let matched = false;
    for (const candidate of candidates) matched = timingSafeEqual(expected, candidate) || matched;
    if (matched) return;
  }
  throw new DashError(401, 'invalid_signature', 'no webhook-signature matches the pipeline signing secret');
}
