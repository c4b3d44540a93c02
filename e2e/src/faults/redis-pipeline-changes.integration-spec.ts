import { QueueName } from '@dash/domain';
import { RedisKeys } from '@dash/infra';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Api, queryDb, startWeb, testEnv, waitFor, type RunningWeb } from '../support/harness';
import { OwnRedis } from '../support/processes';

const POLL_SOURCE = { type: 'poll', url: 'http://example.com/items', intervalSeconds: 60 };

/**
 * Issue 14 item 12: pipeline changes with Redis killed under a running web node (the suite's own
 * redis-server). No request hangs; a change that needs Redis answers 503 with Retry-After and
 * leaves nothing half-made; once Redis is back, the poll schedules follow the database.
 */
describe('pipeline changes while Redis is down', () => {
  let redis: OwnRedis;
  let env: ReturnType<typeof testEnv>;
  let web: RunningWeb;
  let api: Api;

  beforeAll(async () => {
    redis = await OwnRedis.start();
    env = testEnv('redispipes', { REDIS_URL: redis.url });
    web = await startWeb(env.config('web'));
    api = new Api(web.url);
  });

  afterAll(async () => {
    await web?.close();
    await redis?.stop();
    await env?.cleanup();
  });

  /** The poll schedulers in Redis: pipeline id → interval (ms). */
  async function schedules(): Promise<Map<string, number>> {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QueueName.Default, { connection, prefix: new RedisKeys(env.name).bull });
    try {
      const list = await queue.getJobSchedulers(0, -1);
      return new Map(list.map((s) => [s.key.replace(/^poll:/, ''), Number(s.every)]));
    } finally {
      await queue.close();
      connection.disconnect();
    }
  }

  /** A request that must be answered within 10 s (before: no answer within 20 s). */
  async function timed(method: string, path: string, body?: unknown) {
    const answer = await Promise.race([api.request(method, path, body), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${method} ${path}: no answer in 10 s`)), 10_000))]);
    return answer;
  }

  it('answers every change at once: webhook pipelines are created, changes that need Redis get 503 with Retry-After and change nothing', async () => {
    const existing = await api.createPipeline({ name: 'before-outage', source: POLL_SOURCE });
    await waitFor(() => schedules(), (s) => s.get(existing.id) === 60_000, 10_000, 'the schedule of the poll pipeline');
    await redis.crash();

    const created = await timed('POST', '/api/pipelines', { name: 'during-outage', source: { type: 'webhook' } });
    expect(created.status).toBe(201);
    const listed = await timed('GET', '/api/pipelines');
    expect(listed.body.items.filter((item: { name: string }) => item.name === 'during-outage')).toHaveLength(1);

    const poll = await timed('POST', '/api/pipelines', { name: 'poll-during-outage', source: POLL_SOURCE });
    expect(poll.status).toBe(503);
    expect(poll.body).toMatchObject({ error: 'unavailable' });
    expect(Number(poll.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await queryDb(env, `SELECT id FROM pipelines WHERE name = 'poll-during-outage'`)).toEqual([]);

    const patched = await timed('PATCH', `/api/pipelines/${existing.id}`, { name: 'renamed' });
    expect(patched).toMatchObject({ status: 503, body: { error: 'unavailable' } });
    expect(patched.headers.get('retry-after')).not.toBeNull();
    const rotated = await timed('POST', `/api/pipelines/${existing.id}/rotate-secret`);
    expect(rotated).toMatchObject({ status: 503, body: { error: 'unavailable' } });
    const deleted = await timed('DELETE', `/api/pipelines/${existing.id}`);
    expect(deleted).toMatchObject({ status: 503, body: { error: 'unavailable' } });
    const [row] = await queryDb<{ name: string; signing_secret: string }>(env, 'SELECT name, signing_secret FROM pipelines WHERE id = $1', [existing.id]);
    expect(row).toEqual({ name: 'before-outage', signing_secret: existing.signingSecret });
  });

  it('puts the poll schedules right from the database when Redis comes back', async () => {
    // Changes that reached the database but not Redis (made while it was away, or lost with it):
    // a new poll pipeline, and one whose interval changed.
    const [added] = await queryDb<{ id: string }>(
      env,
      `INSERT INTO pipelines (name, source, signing_secret) VALUES ('added-behind', $1, 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdA==') RETURNING id`,
      [JSON.stringify({ ...POLL_SOURCE, intervalSeconds: 30 })],
    );
    await redis.startAgain(); // empty: every schedule is gone with it
    await waitFor(() => schedules(), (s) => s.get(added.id) === 30_000, 20_000, 'schedules reconciled after the reconnect');
    const polls = await queryDb<{ id: string }>(env, `SELECT id FROM pipelines WHERE source->>'type' = 'poll'`);
    expect([...(await schedules()).keys()].sort()).toEqual(polls.map((p) => p.id).sort());

    // And the API works again end to end.
    const poll = await api.createPipeline({ name: 'after-outage', source: POLL_SOURCE });
    expect((await schedules()).get(poll.id)).toBe(60_000);
    expect((await api.request('DELETE', `/api/pipelines/${poll.id}`)).status).toBe(204);
    expect((await schedules()).has(poll.id)).toBe(false);
  });
});
