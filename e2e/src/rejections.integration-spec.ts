import { Redis } from 'ioredis';
import { RedisKeys } from '@dash/infra';
import { randomBytes } from 'node:crypto';
import { LIST_NOTICE_INTERVAL_MS } from '@dash/domain';
import { Api, ADMIN_TOKEN, connectViewer, REDIS_URL, sendWebhook, startWeb, testEnv, waitFor, type CreatedPipeline, type RunningWeb } from './support/harness';

interface Rejection {
  at: string;
  status: number;
  error: string;
  message: string;
  webhookId: string | null;
  contentLength: number | null;
}

/** `GET /api/pipelines/:id/rejections`: why a sender's deliveries were refused, newest first, capped. */
describe('rejected deliveries', () => {
  const MAX_BYTES = 4096;
  const env = testEnv('rejections', { WEBHOOK_MAX_BYTES: String(MAX_BYTES) });
  let web: RunningWeb;
  let api: Api;

  beforeAll(async () => {
    web = await startWeb(env.config('web'));
    api = new Api(web.url);
  });

  afterAll(async () => {
    await web?.close();
    await env.cleanup();
  });

  const rejections = async (pipelineId: string): Promise<Rejection[]> => {
    const { status, body } = await api.request('GET', `/api/pipelines/${pipelineId}/rejections`);
    expect(status).toBe(200);
    return body.items as Rejection[];
  };

  const post = (pipeline: { id: string }, body: string, headers: Record<string, string>) =>
    fetch(`${web.url}/webhooks/${pipeline.id}`, { method: 'POST', headers, body }).then(async (response) => ({ status: response.status, body: await response.json() }));

  it('lists each kind of refusal with its status and code, newest first, never the body', async () => {
    const pipeline = await api.createPipeline({ name: 'refused' });
    const secret = 'SECRET-BODY-MARKER';
    const sent: Array<{ status: number; error: string; webhookId: string | null }> = [];
    const expectRefused = async (response: Promise<{ status: number; body: { error: string } }>, status: number, error: string, webhookId: string | null) => {
      const answer = await response;
      expect(answer).toMatchObject({ status, body: { error } });
      sent.push({ status, error, webhookId });
    };

    await expectRefused(post(pipeline, JSON.stringify({ secret }), { 'content-type': 'application/json' }), 401, 'missing_signature', null);
    await expectRefused(post(pipeline, JSON.stringify({ secret }), { 'content-type': 'application/json', 'webhook-id': 'msg_badsig', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': `v1,${randomBytes(32).toString('base64')}` }), 401, 'invalid_signature', 'msg_badsig');
    await expectRefused(sendWebhook(web.url, pipeline, { secret }, { id: 'msg_old', timestamp: new Date(Date.now() - 3_600_000) }), 401, 'timestamp_out_of_tolerance', 'msg_old');
    await expectRefused(sendWebhook(web.url, pipeline, `{"secret": "${secret}"`, { id: 'msg_json' }), 400, 'invalid_json', 'msg_json');
    // The parser's message quotes the body it could not read: the sender gets it, the log does not keep it.
    await expectRefused(sendWebhook(web.url, pipeline, secret, { id: 'msg_bare' }), 400, 'invalid_json', 'msg_bare');
    await expectRefused(sendWebhook(web.url, pipeline, [1, 2], { id: 'msg_event' }), 400, 'invalid_event', 'msg_event');
    await expectRefused(sendWebhook(web.url, pipeline, secret, { id: 'msg_type', contentType: 'text/plain' }), 415, 'unsupported_media_type', 'msg_type');
    await expectRefused(sendWebhook(web.url, pipeline, { secret, pad: 'x'.repeat(MAX_BYTES) }, { id: 'msg_big' }), 413, 'payload_too_large', 'msg_big');
    // Accepted deliveries are not rejections.
    expect((await sendWebhook(web.url, pipeline, { secret }, { id: 'msg_fine' })).status).toBe(202);

    const items = await rejections(pipeline.id);
    expect(items.map(({ status, error, webhookId }) => ({ status, error, webhookId }))).toEqual([...sent].reverse());
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual(['at', 'contentLength', 'error', 'message', 'status', 'webhookId']);
      // What the sender was told, not just the code.
      expect(item.message.length).toBeGreaterThan(10);
      expect(Date.parse(item.at)).toBeGreaterThan(Date.now() - 120_000);
    }
    expect(items[0].contentLength).toBeGreaterThan(MAX_BYTES);
    expect(items.find((item) => item.webhookId === 'msg_old')?.message).toMatch(/^webhook-timestamp is 360\d s away from now \(tolerance 300 s\)$/);
    expect(JSON.stringify(items)).not.toContain('SECRET');
    expect(items.find((item) => item.webhookId === 'msg_bare')?.message).toBe('body is not valid JSON: unexpected token');
  });

  it('keeps the last 100 of a flood, and good deliveries still pass', async () => {
    const pipeline = await api.createPipeline({ name: 'flooded' });
    const wrong: CreatedPipeline = { ...pipeline, signingSecret: `whsec_${randomBytes(24).toString('base64')}` };
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => sendWebhook(web.url, wrong, { i }, { id: `flood_${round}_${i}` })));
      expect(answers.every((answer) => answer.status === 401)).toBe(true);
    }
    expect((await sendWebhook(web.url, pipeline, { ok: true })).status).toBe(202);
    const items = await rejections(pipeline.id);
    expect(items).toHaveLength(100);
    expect(new Set(items.map((item) => item.webhookId)).size).toBe(100);
    // The newest are kept: every one of the last round is there.
    for (let i = 0; i < 50; i++) expect(items.map((item) => item.webhookId)).toContain(`flood_4_${i}`);
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.llen(new RedisKeys(env.name).rejections(pipeline.id))).toBe(100);
    } finally {
      redis.disconnect();
    }
  });

  it('tells the pages of every web node that the list changed, at most once a second under a flood', async () => {
    const pipeline = await api.createPipeline({ name: 'noticed' });
    const wrong: CreatedPipeline = { ...pipeline, signingSecret: `whsec_${randomBytes(24).toString('base64')}` };
    // The viewer is on another web node than the one refusing the deliveries.
    const other = await startWeb(env.config('web'));
    const viewer = await connectViewer(other.url, ADMIN_TOKEN);
    try {
      const notices: number[] = [];
      viewer.on('rejections_updated', (update) => {
        if (update.pipelineId === pipeline.id) notices.push(Date.now());
      });
      expect(await viewer.emitWithAck('subscribe', { pipelineId: pipeline.id })).toMatchObject({ ok: true });
      const started = Date.now();
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => sendWebhook(web.url, wrong, { i }, { id: `noticed_${round}_${i}` })));
        expect(answers.every((answer) => answer.status === 401)).toBe(true);
      }
      // The newest refusal is announced too (the trailing notice of its second).
      const newest = Date.parse((await rejections(pipeline.id))[0].at);
      await waitFor(() => notices.filter((at) => at >= newest).length, (n) => n >= 1, 5000, 'a notice after the newest refusal');
      // 300 refusals: a handful of notices, one per second at most (+1 for the first, +1 trailing);
      // the spacing itself is checked with a fake clock in keyed-throttle.spec.ts.
      expect(notices.length).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / LIST_NOTICE_INTERVAL_MS) + 2);
      expect(notices.length).toBeLessThan(300);
    } finally {
      viewer.close();
      await other.close();
    }
  });

  it('records nothing for pipelines that do not exist, and scopes the list to readers', async () => {
    const mine = await api.createPipeline();
    const other = await api.createPipeline();
    const missing = { id: '00000000-0000-4000-8000-00000000abcd', signingSecret: `whsec_${randomBytes(24).toString('base64')}` };
    expect((await sendWebhook(web.url, missing, { a: 1 })).status).toBe(404);
    expect((await sendWebhook(web.url, missing, 'x', { contentType: 'text/plain' })).status).toBe(415);
    expect((await api.request('GET', `/api/pipelines/${missing.id}/rejections`)).body.error).toBe('not_found');
    const redis = new Redis(REDIS_URL);
    try {
      // Reading any list writes out everything this node buffered, the unknown pipeline's too.
      await rejections(mine.id);
      expect(await redis.exists(new RedisKeys(env.name).rejections(missing.id))).toBe(0);
    } finally {
      redis.disconnect();
    }

    const { body } = await api.request('POST', '/api/tokens', { pipelines: [mine.id] });
    const viewer = api.withToken(body.token);
    expect((await viewer.request('GET', `/api/pipelines/${mine.id}/rejections`)).status).toBe(200);
    expect((await viewer.request('GET', `/api/pipelines/${other.id}/rejections`)).body.error).toBe('forbidden');
  });
});
