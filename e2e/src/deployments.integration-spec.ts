import { Redis } from 'ioredis';
import { Api, queryDb, REDIS_URL, sendWebhook, startIngestor, startWeb, testEnv, waitFor, type RunningWeb } from './support/harness';
import { spawnApp } from './support/processes';

/**
 * Two deployments (each its own database) on one Redis: a key prefix belongs to one
 * database, and a deployment on another database with the same prefix refuses to start,
 * naming DASH_KEY_PREFIX, before it can take the first one's jobs.
 */
describe('a key prefix bound to one database', () => {
  const first = testEnv('deployone');
  // Its own database, the first one's prefix.
  const second = testEnv('deploytwo', { DASH_KEY_PREFIX: first.name });
  const redis = new Redis(REDIS_URL);
  let web: RunningWeb | null = null;

  afterAll(async () => {
    await web?.close();
    redis.disconnect();
    await first.cleanup();
    await second.cleanup();
  });

  it('lets the first deployment claim the prefix, refuses a second one on another database, and lets the first restart', async () => {
    web = await startWeb(first.config('web'));
    const [identity] = await queryDb<{ value: string }>(first, `SELECT value FROM dash_meta WHERE key = 'deployment_id'`);
    expect(identity.value).toMatch(/^[0-9a-f-]{36}$/);
    expect(await redis.get(`${first.name}:owner`)).toBe(identity.value);

    // As deployed: the process stops at start with the reason (a Nest app exits on a failed boot).
    for (const role of ['web', 'ingestor'] as const) {
      const refused = spawnApp(role, { ...second.env, PORT: '0' }, `second-${role}`);
      const exit = await refused.waitForExit(60_000);
      expect(exit.code).not.toBe(0);
      expect(refused.grep(/DASH_KEY_PREFIX \\?"dash_t_deployone_[0-9a-f]+\\?" belongs to another Dash deployment/)).not.toEqual([]);
    }
    // The second deployment's database was migrated, so it has an identity of its own: it is not the owner.
    const [other] = await queryDb<{ value: string }>(second, `SELECT value FROM dash_meta WHERE key = 'deployment_id'`);
    expect(other.value).not.toBe(identity.value);
    expect(await redis.get(`${first.name}:owner`)).toBe(identity.value);

    // Another node of the first deployment (same database, even through another URL spelling) starts.
    const sameDatabase = first.config('ingestor', { DATABASE_URL: first.env.DATABASE_URL.replace('127.0.0.1', 'localhost') });
    const ingestor = await startIngestor(sameDatabase);
    await ingestor.close();
  });
});

describe('an acknowledged event whose pipeline is deleted before it is stored', () => {
  const env = testEnv('orphans');
  let web: RunningWeb | null = null;

  afterAll(async () => {
    await web?.close();
    await env.cleanup();
  });

  it('is recorded in orphaned_events, not dropped', async () => {
    // No ingestor yet: the events wait in the queue, acknowledged.
    web = await startWeb(env.config('web'));
    const api = new Api(web.url);
    const pipeline = await api.createPipeline({ name: 'short-lived' });
    const sent = await sendWebhook(web.url, pipeline, { type: 'order.created', amount: 1 });
    expect(sent.status).toBe(202);
    const batch = await sendWebhook(web.url, pipeline, [{ id: 'b1' }, { id: 'b2' }]);
    expect(batch.status).toBe(202);
    expect((await api.request('DELETE', `/api/pipelines/${pipeline.id}`)).status).toBe(204);

    const ingestor = await startIngestor(env.config('ingestor'));
    try {
      const rows = await waitFor(
        () => queryDb<{ event_id: string; reason: string }>(env, 'SELECT event_id, reason FROM orphaned_events WHERE pipeline_id = $1 ORDER BY event_id', [pipeline.id]),
        (found) => found.length === 3,
        30_000,
        'orphaned events recorded',
      );
      expect(rows).toEqual([
        { event_id: 'b1', reason: 'pipeline_not_found' },
        { event_id: 'b2', reason: 'pipeline_not_found' },
        { event_id: sent.id, reason: 'pipeline_not_found' },
      ]);
      expect(await queryDb(env, 'SELECT 1 FROM events WHERE pipeline_id = $1', [pipeline.id])).toEqual([]);
    } finally {
      await ingestor.close();
    }
  });
});
