import { signWebhook } from '@dash/domain';
import { Api, queryDb, sendWebhook, testEnv, type CreatedPipeline } from '../support/harness';
import { killAll, runLoad, reconcile, spawnStack, type LoadStats, type Proc, type WebProc } from '../support/processes';
import { rawHttp, sendBody } from '../support/raw-http';
import { prng } from '../support/prng';

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const GENERATED_CASES = Number(process.env.FUZZ_CASES ?? 2000);

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed and index. */

interface Case {
  name: string;
  headers: Record<string, string>;
  body: Buffer;
}

const CONTENT_TYPES = ['application/json', 'application/x-ndjson', 'application/json; charset=utf-8', 'text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '', 'application/json;;;', 'APPLICATION/JSON', '*/*'];

/**
 * Every input from outside that a webhook sender controls, made bad on purpose: each must get
 * its 4xx (never a 5xx, never a crash), store nothing, and leave concurrent good traffic alone.
 */
describe('bad input at /webhooks: table-driven and generated', () => {
  const env = testEnv('fuzzhooks');
  const procs: Proc[] = [];
  let web: WebProc;
  let api: Api;
  let target: CreatedPipeline;
  let good: CreatedPipeline;
  const goodLoads: LoadStats[] = [];

  beforeAll(async () => {
    const stack = await spawnStack(env.env);
    procs.push(...stack.procs);
    web = stack.web;
    api = new Api(web.url);
    target = await api.createPipeline({ name: 'fuzz-target' });
    good = await api.createPipeline({ name: 'good-traffic' });
  });

  afterAll(async () => {
    await killAll(procs);
    await env.cleanup();
  });

  const now = () => Math.floor(Date.now() / 1000);
  function signedHeaders(body: Buffer | string, contentType = 'application/json', id = `fz_${Math.random().toString(36).slice(2)}`): Record<string, string> {
    const ts = now();
    return { 'content-type': contentType, 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook(target.signingSecret, id, ts, body) };
  }

  async function post(headers: Record<string, string>, body: Buffer | string, path = `/webhooks/${target.id}`) {
    const response = await fetch(web.url + path, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
    const text = await response.text();
    let json: { error?: string } | null = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON: asserted by the caller
    }
    return { status: response.status, json, retryAfter: response.headers.get('retry-after') };
  }

  /** Good traffic on another pipeline while bad input hits the target: it must all be stored. */
  function goodTraffic(events: number) {
    const stats = runLoad({ targets: () => [web.url], pipeline: good, events, batch: 5, concurrency: 2, retries: 5 });
    void stats.then((s) => goodLoads.push(s));
    return stats;
  }

  const deep = (depth: number, open: string, close: string, inner = '1') => open.repeat(depth) + inner + close.repeat(depth);
  const table: Array<[string, () => Promise<{ status: number | null; json?: { error?: string } | null }>, number, string | null]> = [
    ['random bytes as JSON', () => { const b = Buffer.from('\x8f\x00\xffgarbage{['); return post(signedHeaders(b), b); }, 400, 'invalid_json'],
    ['truncated JSON', () => { const b = '{"id":"x","nested":{"a":[1,2'; return post(signedHeaders(b), b); }, 400, 'invalid_json'],
    ['deeply nested arrays (100 000 levels)', () => { const b = deep(100_000, '[', ']'); return post(signedHeaders(b), b); }, 400, 'invalid_event'],
    ['deeply nested objects (100 000 levels)', () => { const b = deep(100_000, '{"a":', '}'); return post(signedHeaders(b), b); }, 400, 'invalid_event'],
    ['nested objects past the depth limit (200 levels)', () => { const b = deep(200, '{"a":', '}'); return post(signedHeaders(b), b); }, 400, 'invalid_event'],
    // A newline is only whitespace in application/json: the depth bound must not reset there (issue 14).
    ['objects nested 8 000 levels, a newline after each', () => { const b = deep(8000, '{"a":\n', '}'); return post(signedHeaders(b), b); }, 400, 'invalid_event'],
    ['arrays nested 8 000 levels, a newline after each', () => { const b = deep(8000, '[\n', ']'); return post(signedHeaders(b), b); }, 400, 'invalid_event'],
    ['arrays nested 8 000 levels', () => { const b = deep(8000, '[', ']'); return post(signedHeaders(b), b); }, 400, 'invalid_event'],
    ['arrays and objects mixed, nested with newlines', () => { const b = deep(4000, '[{"a":\r\n', '}]'); return post(signedHeaders(b), b); }, 400, 'invalid_event'],
    ['a batch item nested past the limit', () => { const b = `[{"id":"x","p":${deep(150, '[', ']')}}]`; return post(signedHeaders(b), b); }, 400, 'invalid_event'],
    ['an NDJSON line nested past the limit', () => { const b = `{"a":1}\n{"b":${deep(150, '{"c":', '}')}}`; return post(signedHeaders(b, 'application/x-ndjson'), b); }, 400, 'invalid_event'],
    ['svix- headers with a wrong signature', () => { const h = signedHeaders('{}'); return post({ 'content-type': 'application/json', 'svix-id': h['webhook-id'], 'svix-timestamp': h['webhook-timestamp'], 'svix-signature': 'v1,' + Buffer.alloc(32).toString('base64') }, '{}'); }, 401, 'invalid_signature'],
    ['svix- headers with one missing', () => { const h = signedHeaders('{}'); return post({ 'content-type': 'application/json', 'svix-id': h['webhook-id'], 'svix-signature': h['webhook-signature'] }, '{}'); }, 401, 'missing_signature'],
    ['a huge array of scalars', () => { const b = JSON.stringify(Array.from({ length: 200_000 }, () => 1)); return post(signedHeaders(b), b); }, 400, 'invalid_event'],
    ['a batch of 5000 objects', () => { const b = JSON.stringify(Array.from({ length: 5000 }, () => ({}))); return post(signedHeaders(b), b); }, 400, 'invalid_event'],
    ['invalid UTF-8 inside a string', () => { const b = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]); return post(signedHeaders(b), b); }, 400, 'invalid_json'],
    ['a UTF-16 body', () => { const b = Buffer.from('{"a":1}', 'utf16le'); return post(signedHeaders(b), b); }, 400, 'invalid_json'],
    ['NDJSON with one bad line', () => { const b = '{"a":1}\n{"a":\n{"b":2}'; return post(signedHeaders(b, 'application/x-ndjson'), b); }, 400, 'invalid_json'],
    ['NDJSON of blank lines', () => { const b = '\n\n\n'; return post(signedHeaders(b, 'application/x-ndjson'), b); }, 400, 'invalid_event'],
    ['an empty JSON body', () => post(signedHeaders(''), ''), 400, null],
    ['JSON null', () => post(signedHeaders('null'), 'null'), 400, 'invalid_event'],
    ['text/plain', () => post(signedHeaders('{}', 'text/plain'), '{}'), 415, 'unsupported_media_type'],
    ['application/xml', () => post(signedHeaders('<a/>', 'application/xml'), '<a/>'), 415, 'unsupported_media_type'],
    ['no content type', () => { const h = signedHeaders('{}'); delete h['content-type']; return post(h, '{}'); }, 415, 'unsupported_media_type'],
    ['a signature of garbage', () => post({ ...signedHeaders('{}'), 'webhook-signature': 'v1,!!!not-base64!!!' }, '{}'), 401, 'invalid_signature'],
    ['500 wrong signatures', () => post({ ...signedHeaders('{}'), 'webhook-signature': Array.from({ length: 500 }, (_, i) => `v1,${Buffer.from(String(i)).toString('base64')}`).join(' ') }, '{}'), 401, 'invalid_signature'],
    ['a timestamp that is not a number', () => post({ ...signedHeaders('{}'), 'webhook-timestamp': '12abc' }, '{}'), 401, null],
    ['a timestamp of 400 digits', () => post({ ...signedHeaders('{}'), 'webhook-timestamp': '9'.repeat(400) }, '{}'), 401, null],
    ['a webhook-id of 300 characters', () => { const id = 'x'.repeat(300); return post(signedHeaders('{}', 'application/json', id), '{}'); }, 400, 'invalid_event'],
    ['a pipeline id with a NUL', () => post(signedHeaders('{}'), '{}', '/webhooks/%00'), 404, 'pipeline_not_found'],
    // Path parameters up to 3072 characters reach the route (the longest event ids must be discardable); past that, 414.
    ['a pipeline id of 1000 characters', () => post(signedHeaders('{}'), '{}', `/webhooks/${'a'.repeat(1000)}`), 404, 'pipeline_not_found'],
    ['a pipeline id of 4000 characters', () => post(signedHeaders('{}'), '{}', `/webhooks/${'a'.repeat(4000)}`), 414, null],
    ['a pipeline id with bad percent-encoding', () => post(signedHeaders('{}'), '{}', '/webhooks/%E0%A4%A'), 400, null],
    ['GET on a webhook URL', async () => ({ status: (await fetch(`${web.url}/webhooks/${target.id}`)).status }), 404, null],
    ['a body over WEBHOOK_MAX_BYTES', () => { const b = JSON.stringify({ pad: 'x'.repeat(1_200_000) }); return post(signedHeaders(b), b); }, 413, 'payload_too_large'],
    // Raw sockets: what fetch will not send.
    ['duplicate webhook-id headers', async () => {
      const body = '{"a":1}';
      const h = signedHeaders(body);
      return rawHttp(web.url, [`POST /webhooks/${target.id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nwebhook-id: ${h['webhook-id']}\r\nwebhook-id: ${h['webhook-id']}\r\nwebhook-timestamp: ${h['webhook-timestamp']}\r\nwebhook-signature: ${h['webhook-signature']}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`]);
    }, 401, 'missing_signature'],
    ['duplicate webhook-signature headers', async () => {
      const body = '{"a":1}';
      const h = signedHeaders(body);
      return rawHttp(web.url, [`POST /webhooks/${target.id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nwebhook-id: ${h['webhook-id']}\r\nwebhook-timestamp: ${h['webhook-timestamp']}\r\nwebhook-signature: ${h['webhook-signature']}\r\nwebhook-signature: v1,AAAA\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`]);
    }, 401, 'missing_signature'],
    ['two different Content-Length headers', () => rawHttp(web.url, [`POST /webhooks/${target.id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{}`]), 400, null],
    ['an oversized header (40 kB)', () => rawHttp(web.url, [`POST /webhooks/${target.id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nwebhook-id: ${'x'.repeat(40_000)}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`]), 431, null],
    // The declared body is answered 401, but the trailing bytes are a malformed request: the server answers 400 and closes.
    ['a Content-Length shorter than the body (the rest is a bad request)', () => {
      const body = '{"a":1}GARBAGE';
      const h = signedHeaders('{"a":1}');
      return rawHttp(web.url, [`POST /webhooks/${target.id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nwebhook-id: ${h['webhook-id']}\r\nwebhook-timestamp: 1\r\nwebhook-signature: v1,AAAA\r\nContent-Length: 7\r\n\r\n${body}`]);
    }, 400, null],
    ['a Content-Length longer than the body, then the sender hangs up', async () => {
      const body = '{"a":1}';
      const h = signedHeaders(body);
      const answer = await rawHttp(web.url, [`POST /webhooks/${target.id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nwebhook-id: ${h['webhook-id']}\r\nwebhook-timestamp: ${h['webhook-timestamp']}\r\nwebhook-signature: ${h['webhook-signature']}\r\nContent-Length: 5000\r\n\r\n${body}`], { halfClose: true, waitMs: 2000 });
      // Fastify answers 400 to a body cut short; a server that simply closes is fine as well.
      return { status: answer.status ?? 400 };
    }, 400, null],
    ['a chunked body with a broken chunk size', () => rawHttp(web.url, [`POST /webhooks/${target.id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n`]), 400, null],
    ['a slow sender (a valid-looking request dribbled byte by byte, badly signed)', () => {
      const body = '{"slow":true}';
      const head = `POST /webhooks/${target.id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nwebhook-id: slow\r\nwebhook-timestamp: ${now()}\r\nwebhook-signature: v1,AAAA\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
      return rawHttp(web.url, [head, ...body.split('')], { gapMs: 60, waitMs: 5000 });
    }, 401, null],
  ];

  it.each(table)('answers %s with its 4xx, while good traffic flows', async (_name, send, status, code) => {
    const [answer] = await Promise.all([send(), goodTraffic(50)]);
    expect(answer.status).toBe(status);
    if (code) expect(answer.json).toEqual({ error: code, message: expect.any(String) });
    expect(web.alive).toBe(true);
  });

  it('holds 30 stalled senders (a body that lies about its length, never finished) without disturbing good traffic', async () => {
    const stalled = Array.from({ length: 30 }, (_, i) =>
      rawHttp(web.url, [`POST /webhooks/${target.id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nwebhook-id: stall-${i}\r\nwebhook-timestamp: ${now()}\r\nwebhook-signature: v1,AAAA\r\nContent-Length: 100000\r\n\r\n{"partial":`], { waitMs: 4000 }),
    );
    const [answers, load] = await Promise.all([Promise.all(stalled), goodTraffic(300)]);
    // No answer while the declared body has not arrived; nothing from them reaches the queue.
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => null));
    expect(load.acknowledged.size).toBe(300);
    expect(web.alive).toBe(true);
  });

  it('answers 30 concurrent senders of oversized bodies (2 MiB, fast and slow) with a readable 413, never a reset', async () => {
    const [outcomes, load] = await Promise.all([
      Promise.all(Array.from({ length: 30 }, (_, i) => sendBody(web.url, `/webhooks/${target.id}`, 2 * 1024 * 1024, i % 3 === 0 ? { chunk: 16 * 1024, gapMs: 10 } : { chunk: 256 * 1024, gapMs: 0 }))),
      goodTraffic(200),
    ]);
    expect(outcomes.filter((outcome) => outcome.status !== 413 || outcome.error !== 'payload_too_large' || outcome.socketError !== null)).toEqual([]);
    expect(load.acknowledged.size).toBe(200);
    expect(web.alive).toBe(true);
  });

  it(`survives ${GENERATED_CASES} generated bad requests (seed ${SEED}) with 4xx only, storing nothing`, async () => {
    const random = prng(SEED);
    const bodies: Array<() => Buffer> = [
      () => random.bytes(random.int(2000)),
      () => {
        const valid = JSON.stringify(Array.from({ length: 1 + random.int(5) }, (_, i) => ({ id: `g${i}`, v: random.next(), s: 'é☃'.repeat(random.int(5)) })));
        return Buffer.from(valid.slice(0, random.int(valid.length - 1))); // truncated: never valid
      },
      () => Buffer.from(deep(1 + random.int(3000), random.pick(['[', '{"k":']), '', '')), // unclosed nesting
      // Closed nesting with newlines and mixed brackets: valid JSON, too deep past 100 levels.
      () => {
        const [open, close] = random.pick([['[\n', ']'], ['{"k":\n', '}'], ['[{"k":\n', '}]'], ['{"k":[', ']}']] as const);
        return Buffer.from(deep(101 + random.int(3000), open, close));
      },
      () => Buffer.from(random.pick(['true', 'false', '0', '-1e999', '"str"', '[1,2,3]', '[[]]', '[null]', '{"a":1}{"b":2}', '{,}', '{"a":1,}', "{'a':1}", 'NaN', '{"a":undefined}'])),
      // High bytes ending in 0xFF, which UTF-8 never uses: always invalid UTF-8.
      () => Buffer.concat([Buffer.from('{"a":"'), random.bytes(random.int(50)).map((b) => b | 0x80), Buffer.from([0xff]), Buffer.from('"}')]),
    ];
    type Mutation = (c: Case) => Case;
    const badSignature: Mutation[] = [
      (c) => ({ ...c, headers: { ...c.headers, 'webhook-signature': `v1,${random.bytes(32).toString('base64')}` } }),
      (c) => ({ ...c, headers: { ...c.headers, 'webhook-timestamp': String(now() - 10_000 + random.int(5) * 1000) } }),
      (c) => {
        const headers = { ...c.headers };
        delete headers[random.pick(['webhook-id', 'webhook-timestamp', 'webhook-signature'])];
        return { ...c, headers };
      },
      (c) => ({ ...c, headers: { ...c.headers, 'webhook-signature': random.pick(['', 'v1', 'v1,', 'v2,abc', ' '.repeat(100), 'v1,' + '='.repeat(5000)]) } }),
    ];
    const build = (index: number): Case => {
      const body = random.pick(bodies)();
      const contentType = random.next() < 0.75 ? random.pick(CONTENT_TYPES.slice(0, 3)) : random.pick(CONTENT_TYPES);
      let c: Case = { name: `case ${index}`, headers: signedHeaders(body, contentType, `gen_${index}`), body };
      // Half the cases are correctly signed (so the body itself is judged), half break the signature.
      if (random.next() < 0.5) c = random.pick(badSignature)(c);
      if (!c.headers['content-type']) delete c.headers['content-type'];
      return c;
    };

    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let next = 0;
    const traffic = goodTraffic(1000);
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (next < GENERATED_CASES) {
          const index = next++;
          const c = build(index);
          const answer = await post(c.headers, c.body).catch((error: Error) => ({ status: 0, json: { error: error.message } }));
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (!(answer.status >= 400 && answer.status < 500) || typeof answer.json?.error !== 'string') failures.push(`seed ${SEED} case ${index}: ${answer.status} ${JSON.stringify(answer.json)} for ${JSON.stringify(c.headers)} ${c.body.subarray(0, 80).toString('latin1')}`);
        }
      }),
    );
    await traffic;
    process.stdout.write(`\n[fuzz] /webhooks: ${GENERATED_CASES} generated cases (seed ${SEED}); statuses ${[...statuses].sort().map(([s, n]) => `${s}×${n}`).join(' ')}\n`);
    expect(failures).toEqual([]);
    expect(web.alive).toBe(true);
  });

  it('stored nothing from any bad request, and all the good traffic exactly once', async () => {
    const merged: LoadStats = { sent: new Set(), acknowledged: new Set(), statuses: new Map() };
    for (const load of goodLoads) {
      for (const id of load.sent) merged.sent.add(id);
      for (const id of load.acknowledged) merged.acknowledged.add(id);
      for (const [status, n] of load.statuses) merged.statuses.set(status, (merged.statuses.get(status) ?? 0) + n);
    }
    const result = await reconcile(env, good.id, merged, 'good traffic during the bad-input suites');
    expect(result.acknowledged).toBe(result.sent);
    expect(result).toMatchObject({ lost: 0, duplicates: 0, unknown: 0 });
    const bad = await queryDb<{ n: string }>(env, 'SELECT count(*) AS n FROM events WHERE pipeline_id = $1', [target.id]);
    expect(Number(bad[0].n)).toBe(0);
    expect((await api.stats(target.id)).count).toBe(0);
    expect(procs.every((proc) => proc.alive)).toBe(true);
    // And the target pipeline still takes a good event.
    expect((await sendWebhook(web.url, target, { fine: true })).status).toBe(202);
  });
});
