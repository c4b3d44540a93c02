import type { INestMicroservice } from '@nestjs/common';
import { Backlog, RedisKeys } from '@dash/infra';
import { Redis } from 'ioredis';
import { Api, REDIS_URL, sendWebhook, startIngestor, startWeb, testEnv, waitFor, type CreatedPipeline, type RunningWeb } from '../support/harness';
import { newLoadStats, reconcile, sleep, type LoadStats } from '../support/processes';

const MAX_BACKLOG = 400;
const BATCH = 20;

/**
 * Overload: no ingestor drains at first, so the backlog (events acknowledged, not yet
 * committed) grows to INGEST_MAX_BACKLOG. A flooding pipeline is cut off at half the limit
 * while another keeps flowing; at the limit every pipeline gets 429 with Retry-After. Once an
 * ingestor drains, intake resumes by itself.
 */
describe('overload: the backlog limit sheds with 429, per pipeline first', () => {
  const env = testEnv('overload', { INGEST_MAX_BACKLOG: String(MAX_BACKLOG) });
  let web: RunningWeb;
  let ingestor: INestMicroservice | null = null;
  let api: Api;
  let redis: Redis;
  let flood: CreatedPipeline;
  let quiet: CreatedPipeline;
  const loads = new Map<string, LoadStats>();
  let peakBacklog = 0;

  beforeAll(async () => {
    web = await startWeb(env.config('web'));
    api = new Api(web.url);
    redis = new Redis(REDIS_URL);
    flood = await api.createPipeline({ name: 'flood' });
    quiet = await api.createPipeline({ name: 'quiet' });
    loads.set(flood.id, newLoadStats()).set(quiet.id, newLoadStats());
  });

  afterAll(async () => {
    redis?.disconnect();
    await web?.close();
    await ingestor?.close();
    await env.cleanup();
  });

  let serial = 0;
  /** One batch of new events; the answer is recorded for the reconciliation. */
  async function send(pipeline: CreatedPipeline) {
    const stats = loads.get(pipeline.id) as LoadStats;
    const ids = Array.from({ length: BATCH }, () => `${pipeline.id.slice(0, 4)}-${serial++}`);
    for (const id of ids) stats.sent.add(id);
    const response = await sendWebhook(web.url, pipeline, ids.map((id) => ({ id })));
    stats.statuses.set(response.status, (stats.statuses.get(response.status) ?? 0) + 1);
    if (response.status === 202) for (const id of ids) stats.acknowledged.add(id);
    const backlog = (await new Backlog(redis, new RedisKeys(env.name)).totals()).total;
    peakBacklog = Math.max(peakBacklog, backlog);
    return response;
  }

  /** Sends batches (letting the gate's 100 ms refresh see each) until one is answered 429. */
  async function sendUntil429(pipeline: CreatedPipeline, maxBatches = 100) {
    for (let i = 0; i < maxBatches; i++) {
      const response = await send(pipeline);
      if (response.status === 429) return response;
      expect(response.status).toBe(202);
      await sleep(120);
    }
    throw new Error(`no 429 after ${maxBatches} batches`);
  }

  it('cuts off a flooding pipeline at half the limit while another pipeline keeps flowing', async () => {
    const shed = await sendUntil429(flood);
    expect(shed.body).toEqual({ error: 'backlog_full', message: expect.stringContaining('this pipeline') });
    expect(shed.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(Number(shed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(loads.get(flood.id)?.acknowledged.size).toBeGreaterThanOrEqual(MAX_BACKLOG / 2 - BATCH);
    // The other pipeline is untouched by the flood.
    for (let i = 0; i < 3; i++) expect((await send(quiet)).status).toBe(202);
    expect((await send(flood)).status).toBe(429);
  });

  it('answers 429 backlog_full with Retry-After to every pipeline at the global limit, with the backlog bounded', async () => {
    const shed = await sendUntil429(quiet);
    expect(shed.body.error).toBe('backlog_full');
    expect(Number(shed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const fresh = await api.createPipeline({ name: 'late-comer' });
    loads.set(fresh.id, newLoadStats());
    await sleep(150);
    const refused = await send(fresh);
    expect(refused.status).toBe(429);
    expect(refused.body.message).toContain(`limit ${MAX_BACKLOG}`);
    // Bounded: the limit is checked every 100 ms, so it is overshot by at most the requests of that window.
    expect(peakBacklog).toBeLessThanOrEqual(MAX_BACKLOG + 2 * BATCH);
  });

  it('resumes by itself once an ingestor drains the backlog; every acknowledged event is stored, no refused one is', async () => {
    ingestor = await startIngestor(env.config('ingestor'));
    await waitFor(() => send(flood).then((r) => r.status), (status) => status === 202, 30_000, 'intake resumed for the flooding pipeline');
    // Each pipeline resumes once its own share has drained (the quiet one also filled up in the global test).
    await waitFor(() => send(quiet).then((r) => r.status), (status) => status === 202, 30_000, 'intake resumed for the quiet pipeline');
    for (const pipeline of [flood, quiet]) {
      const stats = loads.get(pipeline.id) as LoadStats;
      const result = await reconcile(env, pipeline.id, stats, `overload (${pipeline.id === flood.id ? 'flooding' : 'quiet'} pipeline), backlog limit ${MAX_BACKLOG}`);
      expect(result).toMatchObject({ lost: 0, duplicates: 0, unknown: 0, storedUnacknowledged: 0 });
      expect(result.stored).toBe(result.acknowledged);
      expect(stats.statuses.get(429)).toBeGreaterThan(0);
    }
  });
});
