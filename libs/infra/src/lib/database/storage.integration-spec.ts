import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { createPool, ensureDatabase, storageModeOf } from './database';
import { dropTestDatabase as dropDatabase, migrateDatabase, testDatabaseUrl as databaseUrl } from './test-database';

const migrated = (name: string, storageMode: 'auto' | 'native' | 'timescale') => migrateDatabase(databaseUrl(name), storageMode);

describe('event storage', () => {
  const names: string[] = [];
  const pools: Pool[] = [];
  const fresh = () => {
    const name = `dash_t_storage_${randomBytes(4).toString('hex')}`;
    names.push(name);
    return name;
  };

  afterAll(async () => {
    for (const pool of pools) await pool.end();
    for (const name of names) await dropDatabase(name);
  });

  it('creates the database when missing, once', async () => {
    const name = fresh();
    expect(await ensureDatabase(databaseUrl(name))).toBe(true);
    expect(await ensureDatabase(databaseUrl(name))).toBe(false);
  });

  it('falls back to native partitions in auto mode when TimescaleDB is not installed', async () => {
    const name = fresh();
    await migrated(name, 'auto');
    const pool = createPool({ databaseUrl: databaseUrl(name), role: 'web' });
    pools.push(pool);
    expect(await storageModeOf(pool)).toBe('native');
    const { rows } = await pool.query<{ partitions: string }>(`SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'events'::regclass`);
    // The default partition, yesterday, today and a week ahead.
    expect(Number(rows[0].partitions)).toBe(10);
  });

  it('migrates concurrently started nodes once', async () => {
    const name = fresh();
    await Promise.all([migrated(name, 'native'), migrated(name, 'native'), migrated(name, 'native')]);
    const pool = createPool({ databaseUrl: databaseUrl(name), role: 'web' });
    pools.push(pool);
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM dash_migrations');
    expect(Number(rows[0].n)).toBe(4);
  });

  it('refuses STORAGE_MODE=timescale when the extension cannot be created, leaving nothing half-made', async () => {
    const name = fresh();
    await expect(migrated(name, 'timescale')).rejects.toThrow(/timescaledb/);
    const pool = createPool({ databaseUrl: databaseUrl(name), role: 'web' });
    pools.push(pool);
    const { rows } = await pool.query(`SELECT to_regclass('events') AS events`);
    expect(rows[0].events).toBeNull();
  });

  it('moves rows out of the default partition when it creates the partition for their day', async () => {
    const name = fresh();
    await migrated(name, 'native');
    const pool = createPool({ databaseUrl: databaseUrl(name), role: 'web' });
    pools.push(pool);
    const farDay = new Date(Date.now() + 30 * 86_400_000);
    await pool.query(
      `INSERT INTO events (pipeline_id, event_id, type, occurred_at, received_at, payload) VALUES (gen_random_uuid(), 'future', NULL, $1, now(), '{}')`,
      [farDay.toISOString()],
    );
    expect((await pool.query(`SELECT count(*)::int AS n FROM events_default`)).rows[0].n).toBe(1);
    await pool.query('SELECT dash_ensure_event_partitions(0, 31)');
    expect((await pool.query(`SELECT count(*)::int AS n FROM events_default`)).rows[0].n).toBe(0);
    expect((await pool.query(`SELECT count(*)::int AS n FROM events WHERE event_id = 'future'`)).rows[0].n).toBe(1);
  });
});
