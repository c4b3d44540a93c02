// The events the bench sends: realistic ~300-byte JSON objects, signed with the
// `standardwebhooks` library as a sender would sign them.
import { Webhook } from 'standardwebhooks';

const CURRENCIES = ['usd', 'eur', 'gbp', 'jpy'];

/** One event body (~300 bytes). No top-level `id`: a single event's id is its webhook-id. */
export function eventObject(i, at = new Date()) {
  return {
    type: i % 5 === 0 ? 'order.refunded' : 'order.created',
    timestamp: at.toISOString(),
    data: {
      object: {
        order: `ord_${i.toString(36).padStart(8, '0')}`,
        amount: 1000 + (i % 9000),
        currency: CURRENCIES[i % CURRENCIES.length],
        customer: { id: `cus_${(i * 7919).toString(36).padStart(8, '0')}`, country: 'NL', email: `buyer${i % 1000}@example.com` },
        items: [{ sku: `sku_${i % 97}`, quantity: 1 + (i % 3), price: 1299 }],
        note: 'sized like a commerce webhook',
      },
    },
  };
}

export const eventBody = (i, at) => JSON.stringify(eventObject(i, at));

function signed(webhook, id, at, body, bytes = Buffer.from(body)) {
  return {
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': webhook.sign(id, at, body),
    },
    body: bytes,
    events: 1,
  };
}

/** `count` distinct single-event requests (distinct ids and bodies), signed now. */
export function singlePool(secret, count, prefix) {
  const webhook = new Webhook(secret);
  const at = new Date();
  return Array.from({ length: count }, (_, i) => signed(webhook, `${prefix}_${i}`, at, eventBody(i, at)));
}

/**
 * `count` distinct batch requests of `size` events. Items carry no `id`, so each event's id is
 * `{webhook-id}:{index}` and every request holds new events; bodies rotate among a few
 * templates to keep the pool small in memory.
 */
export function batchPool(secret, count, prefix, size = 100) {
  const webhook = new Webhook(secret);
  const at = new Date();
  const templates = Array.from({ length: 8 }, (_, t) => JSON.stringify(Array.from({ length: size }, (_, i) => eventObject(t * size + i, at))));
  const buffers = templates.map((text) => Buffer.from(text));
  return Array.from({ length: count }, (_, i) => {
    const request = signed(webhook, `${prefix}_${i}`, at, templates[i % templates.length], buffers[i % templates.length]);
    request.events = size;
    return request;
  });
}
