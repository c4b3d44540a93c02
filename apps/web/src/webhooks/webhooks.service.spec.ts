import { decodeSigningSecret, generateSigningSecret, signWebhook, valueNestsDeeperThan, DashError, type IngestEvent } from '@dash/domain';
import { loadConfig, PipelineEntity } from '@dash/infra';
import type { IncomingHttpHeaders } from 'node:http';
import type { CachedPipeline } from '../pipelines/pipeline-cache';
import { nestsDeeperThan, repeatedHeaders, signatureHeaders, WebhooksService } from './webhooks.service';

describe(nestsDeeperThan.name, () => {
  const deep = (n: number) => Buffer.from('{"a":'.repeat(n) + '1' + '}'.repeat(n));

  it('accepts nesting up to the limit and refuses one level more', () => {
    expect(nestsDeeperThan(deep(100), 100)).toBe(false);
    expect(nestsDeeperThan(deep(101), 100)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(nestsDeeperThan(Buffer.from(JSON.stringify({ s: '[[[[{{{{"\\\\' + '['.repeat(500) })), 3)).toBe(false);
  });

  it('counts each NDJSON line on its own', () => {
    const line = '[[[1]]]';
    expect(nestsDeeperThan(Buffer.from(Array.from({ length: 50 }, () => line).join('\n')), 3, true)).toBe(false);
  });

  it('does not reset the depth at newlines in a JSON body (only NDJSON is read per line)', () => {
    const objects = Buffer.from('{"a":\n'.repeat(8000) + '1' + '}'.repeat(8000));
    const arrays = Buffer.from('[\n'.repeat(8000) + '1' + ']'.repeat(8000));
    expect(nestsDeeperThan(objects, 100)).toBe(true);
    expect(nestsDeeperThan(arrays, 100)).toBe(true);
    // One NDJSON line that is itself too deep is still found.
    expect(nestsDeeperThan(Buffer.from('{"a":1}\n' + '['.repeat(101) + ']'.repeat(101)), 100, true)).toBe(true);
  });

  it('finds deep nesting in an unclosed body without recursion', () => {
    expect(nestsDeeperThan(Buffer.from('['.repeat(1_000_000)), 100)).toBe(true);
  });
});

describe(valueNestsDeeperThan.name, () => {
  it('measures parsed values without recursion, at any depth', () => {
    const deep = (n: number) => JSON.parse('[{"a":'.repeat(n) + '1' + '}]'.repeat(n)) as unknown;
    expect(valueNestsDeeperThan(deep(50), 100)).toBe(false);
    expect(valueNestsDeeperThan(deep(51), 100)).toBe(true);
    expect(valueNestsDeeperThan(JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)), 100)).toBe(true);
    expect(valueNestsDeeperThan('text', 0)).toBe(false);
  });
});

describe(signatureHeaders.name, () => {
  it('reads the svix- headers when no webhook- header is there', () => {
    expect(signatureHeaders({ 'svix-id': 'm', 'svix-timestamp': '1', 'svix-signature': 'v1,x' }, new Set())).toEqual({ id: 'm', timestamp: '1', signature: 'v1,x' });
  });

  it('reads one set whole: any webhook- header makes that set decide, never mixed with svix-', () => {
    const both = { 'webhook-id': 'w', 'webhook-timestamp': '2', 'webhook-signature': 'v1,w', 'svix-id': 's', 'svix-timestamp': '1', 'svix-signature': 'v1,s' };
    expect(signatureHeaders(both, new Set())).toEqual({ id: 'w', timestamp: '2', signature: 'v1,w' });
    expect(signatureHeaders({ 'webhook-id': 'w', 'svix-id': 's', 'svix-timestamp': '1', 'svix-signature': 'v1,s' }, new Set())).toEqual({ id: 'w', timestamp: undefined, signature: undefined });
  });

  it('treats a repeated svix- header as missing', () => {
    const repeated = repeatedHeaders(['svix-id', 'a', 'Svix-Id', 'b', 'svix-timestamp', '1', 'svix-signature', 'v1,x']);
    expect(signatureHeaders({ 'svix-id': 'a, b', 'svix-timestamp': '1', 'svix-signature': 'v1,x' }, repeated).id).toBeUndefined();
  });
});

describe(repeatedHeaders.name, () => {
  it('names the signature headers sent more than once, in any case', () => {
    const raw = ['Webhook-Id', 'a', 'webhook-id', 'b', 'webhook-signature', 'v1,x', 'X-Other', '1', 'x-other', '2'];
    expect([...repeatedHeaders(raw)]).toEqual(['webhook-id']);
    expect(repeatedHeaders(undefined).size).toBe(0);
  });
});

describe(WebhooksService.name, () => {
  const pipelineId = '6f1c2a7e-4b1d-4c3e-9a55-0d2a8f0e1b11';
  const secret = generateSigningSecret();
  const entity = Object.assign(new PipelineEntity(), {
    id: pipelineId,
    name: 'orders',
    source: { type: 'webhook' },
    eventIdPath: 'id',
    eventTimePath: 'timestamp',
    eventTypePath: 'type',
    signingSecret: secret,
    previousSecret: null,
    previousSecretExpiresAt: null,
  });
  const cached: CachedPipeline = { entity, currentKey: decodeSigningSecret(secret), previousKey: null, previousKeyUntil: 0 };

  /** The service with hand-written stand-ins for the pipeline cache, the backlog gate and the queue. */
  const intake = (options: { full?: boolean; queueDown?: boolean } = {}) => {
    const queued: IngestEvent[][] = [];
    const service = new WebhooksService(
      loadConfig({}, 'web'),
      { get: async (id: string) => (id === pipelineId ? cached : null), keysOf: (pipeline: CachedPipeline) => [pipeline.currentKey] },
      {
        check: () => {
          if (options.full) throw new DashError(429, 'backlog_full', 'full', 3);
        },
      },
      {
        enqueue: async (events: IngestEvent[]) => {
          if (options.queueDown) throw new DashError(503, 'unavailable', 'Redis away', 5);
          queued.push(events);
        },
      },
    );
    return { service, queued };
  };

  const signed = (body: string, id = 'msg_1', secretUsed = secret): IncomingHttpHeaders => {
    const timestamp = Math.floor(Date.now() / 1000);
    return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secretUsed, id, timestamp, body) };
  };

  it('queues the events of a signed request and answers how many it accepted', async () => {
    const { service, queued } = intake();
    const body = JSON.stringify([{ id: 'a', type: 'order.created' }, { id: 'b', type: 'order.paid' }]);
    await expect(service.receive(pipelineId, signed(body), Buffer.from(body))).resolves.toEqual({ accepted: 2 });
    expect(queued).toHaveLength(1);
    expect(queued[0].map((event) => [event.pipelineId, event.id, event.type])).toEqual([
      [pipelineId, 'a', 'order.created'],
      [pipelineId, 'b', 'order.paid'],
    ]);
  });

  it.each([
    ['an unknown pipeline', { pipeline: '6f1c2a7e-4b1d-4c3e-9a55-0d2a8f0e1b12' }, 404, 'pipeline_not_found'],
    ['a signature by another secret', { secret: generateSigningSecret() }, 401, 'invalid_signature'],
    ['a body nested too deep', { body: '['.repeat(200) + ']'.repeat(200) }, 400, 'invalid_event'],
    ['a webhook-id longer than 255 characters', { id: 'x'.repeat(256) }, 400, 'invalid_event'],
  ])('refuses %s and queues nothing', async (_, change: { pipeline?: string; secret?: string; body?: string; id?: string }, status, code) => {
    const { service, queued } = intake();
    const body = change.body ?? '{"id":"a"}';
    await expect(service.receive(change.pipeline ?? pipelineId, signed(body, change.id, change.secret), Buffer.from(body))).rejects.toMatchObject({ status, code });
    expect(queued).toEqual([]);
  });

  it('refuses a content type other than JSON or NDJSON with 415 before anything else', async () => {
    const { service, queued } = intake();
    const headers = { ...signed('{}'), 'content-type': 'text/plain' };
    await expect(service.receive(pipelineId, headers, Buffer.from('{}'))).rejects.toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(queued).toEqual([]);
  });

  it('answers the backlog gate\'s 429 and queues nothing', async () => {
    const { service, queued } = intake({ full: true });
    const body = '{"id":"a"}';
    await expect(service.receive(pipelineId, signed(body), Buffer.from(body))).rejects.toMatchObject({ status: 429, code: 'backlog_full', retryAfterSeconds: 3 });
    expect(queued).toEqual([]);
  });

  it('answers 503 when the queue cannot take the events (the sender retries)', async () => {
    const { service } = intake({ queueDown: true });
    const body = '{"id":"a"}';
    await expect(service.receive(pipelineId, signed(body), Buffer.from(body))).rejects.toMatchObject({ status: 503, code: 'unavailable' });
  });
});
