import { Webhook } from 'standardwebhooks';
import { DashError } from './errors';
import { decodeSigningSecret, generateSigningSecret, signWebhook, verifyWebhook } from './signature';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const key = decodeSigningSecret(secret);
const nowMs = Date.UTC(2026, 10, 28, 12, 0, 0);
const timestamp = Math.floor(nowMs / 1000);

/** A delivery signed by the reference `standardwebhooks` library. */
function referenceDelivery(body: string, id = 'msg_p5jXN8AQM9LWM0D4loKWxJek', at = new Date(nowMs)) {
  return { id, timestamp: String(Math.floor(at.getTime() / 1000)), signature: new Webhook(secret).sign(id, at, body) };
}

function codeOf(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return (error as DashError).code;
  }
}

describe(verifyWebhook.name, () => {
  it('accepts a delivery signed by the standardwebhooks library', () => {
    const body = '{"test": 2432232314}';
    expect(() => verifyWebhook([key], referenceDelivery(body), Buffer.from(body), 300, nowMs)).not.toThrow();
  });

  it('produces the same signature as the standardwebhooks library', () => {
    const body = '{"type":"order.created","n":1}';
    const reference = referenceDelivery(body);
    expect(signWebhook(secret, reference.id, timestamp, body)).toBe(reference.signature);
  });

  it('accepts any matching signature among several, and the previous secret', () => {
    const body = '{"a":1}';
    const previous = generateSigningSecret();
    const reference = referenceDelivery(body);
    const headers = { ...reference, signature: `v1,${Buffer.alloc(32).toString('base64')} v2,abc ${reference.signature}` };
    expect(() => verifyWebhook([decodeSigningSecret(previous), key], headers, Buffer.from(body), 300, nowMs)).not.toThrow();
  });

  it('refuses a changed body, another secret, or a malformed signature', () => {
    const body = '{"a":1}';
    const reference = referenceDelivery(body);
    expect(codeOf(() => verifyWebhook([key], reference, Buffer.from('{"a":2}'), 300, nowMs))).toBe('invalid_signature');
    expect(codeOf(() => verifyWebhook([decodeSigningSecret(generateSigningSecret())], reference, Buffer.from(body), 300, nowMs))).toBe('invalid_signature');
    expect(codeOf(() => verifyWebhook([key], { ...reference, signature: 'v1' }, Buffer.from(body), 300, nowMs))).toBe('invalid_signature');
    expect(codeOf(() => verifyWebhook([key], { ...reference, timestamp: '12abc' }, Buffer.from(body), 300, nowMs))).toBe('invalid_signature');
  });

  it('refuses a signature made for another message id', () => {
    const body = '{}';
    const reference = referenceDelivery(body, 'msg_a');
    expect(codeOf(() => verifyWebhook([key], { ...reference, id: 'msg_b' }, Buffer.from(body), 300, nowMs))).toBe('invalid_signature');
  });

  it('applies the timestamp tolerance both ways', () => {
    const body = '{}';
    const old = referenceDelivery(body, 'msg_1', new Date(nowMs - 301_000));
    const ahead = referenceDelivery(body, 'msg_1', new Date(nowMs + 301_000));
    const edge = referenceDelivery(body, 'msg_1', new Date(nowMs - 299_000));
    expect(codeOf(() => verifyWebhook([key], old, Buffer.from(body), 300, nowMs))).toBe('timestamp_out_of_tolerance');
    expect(codeOf(() => verifyWebhook([key], ahead, Buffer.from(body), 300, nowMs))).toBe('timestamp_out_of_tolerance');
    expect(codeOf(() => verifyWebhook([key], edge, Buffer.from(body), 300, nowMs))).toBeUndefined();
  });

  it('names missing headers', () => {
    expect(codeOf(() => verifyWebhook([key], { id: 'x', timestamp: String(timestamp), signature: undefined }, Buffer.from('{}'), 300, nowMs))).toBe('missing_signature');
    expect(codeOf(() => verifyWebhook([key], { id: undefined, timestamp: String(timestamp), signature: 'v1,x' }, Buffer.from('{}'), 300, nowMs))).toBe('missing_signature');
  });
});

describe(generateSigningSecret.name, () => {
  it('makes whsec_ secrets of 24 random bytes that the reference library accepts', () => {
    const secrets = new Set(Array.from({ length: 50 }, generateSigningSecret));
    expect(secrets.size).toBe(50);
    for (const s of secrets) {
      expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
      expect(() => new Webhook(s)).not.toThrow();
    }
  });
});
