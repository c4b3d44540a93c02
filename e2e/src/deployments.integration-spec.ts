import { Redis } from 'ioredis';
import { queryDb, REDIS_URL, startIngestor, startWeb, testEnv, type RunningWeb } from './support/harness';
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
      expect(refused.grep(/DASH_KEY_PREFIX "dash_t_deployone_[0-9a-f]+" belongs to another Dash deployment/)).not.toEqual([]);
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
