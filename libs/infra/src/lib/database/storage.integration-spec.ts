import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { createDataSource, createPool, ensureDatabase, storageModeOf } from './database';
import { dropTestDatabase, migrateDatabase, STORAGE_SERVERS, testDatabaseUrl, type TestServer } from '../../testing/test-database';

type Mode = 'auto' | 'native' | 'timescale';
const PRELOAD_FIX = "shared_preload_libraries = 'timescaledb'";

describe('event storage', () => {
  const made: Array<{ name: string; server: TestServer }> = [];
  const pools: Pool[] = [];
  const fresh = (server: TestServer = 'postgres') => {
    const name = `dash_t_storage_${randomBytes(4).toString('hex')}`;
    made.push({ name, server });
    return name;
  };
  const migrated = (name: string, storageMode: Mode, server: TestServer = 'postgres') => migrateDatabase(testDatabaseUrl(name, server), storageMode);
  const poolOf = (name: string, server: TestServer = 'postgres') => {
    const pool = createPool({ databaseUrl: testDatabaseUrl(name, server), role: 'web' });
    pools.push(pool);
    return pool;
  };
  /** The warnings the storage migration logs while `run` runs. */
  async function warningsDuring(run: () => Promise<unknown>): Promise<string[]> {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await run();
      return warn.mock.calls.map((call) => String(call[0]));
    } finally {
      warn.mockRestore();
    }
  }

  afterAll(async () => {
    for (const pool of pools) await pool.end();
    for (const { name, server } of made) await dropTestDatabase(name, server);
  });

  it('creates the database when missing, once', async () => {
    const name = fresh();
    expect(await ensureDatabase(testDatabaseUrl(name))).toBe(true);
    expect(await ensureDatabase(testDatabaseUrl(name))).toBe(false);
  });

  describe('on stock PostgreSQL with TimescaleDB installed but not preloaded', () => {
    it('sees the extension installed and not preloaded (the case under test)', async () => {
      const pool = poolOf('postgres');
      const { rows } = await pool.query(`
        SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS installed,
               current_setting('shared_preload_libraries') LIKE '%timescaledb%' AS preloaded`);
      expect(rows[0]).toEqual({ installed: true, preloaded: false });
    });

    it('falls back to native partitions in auto mode, with one warning naming the fix', async () => {
      const name = fresh();
      const warnings = await warningsDuring(() => migrated(name, 'auto'));
      const pool = poolOf(name);
      expect(await storageModeOf(pool)).toBe('native');
      expect(warnings.filter((w) => w.includes('timescaledb'))).toEqual([expect.stringContaining(PRELOAD_FIX)]);
      const { rows } = await pool.query<{ partitions: string }>(`SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'events'::regclass`);
      // The default partition, yesterday, today and a week ahead.
      expect(Number(rows[0].partitions)).toBe(10);
      expect((await pool.query(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'timescaledb'`)).rows[0].n).toBe(0);
    });

    it('refuses STORAGE_MODE=timescale with the fix, leaving nothing half-made, and a later start in auto works', async () => {
      const name = fresh();
      await expect(migrated(name, 'timescale')).rejects.toThrow(PRELOAD_FIX);
      const pool = poolOf(name);
      const { rows } = await pool.query(`
        SELECT to_regclass('events') AS events, to_regclass('event_counts_1m') AS rollup,
               (SELECT count(*)::int FROM pg_extension WHERE extname = 'timescaledb') AS extension,
               (SELECT count(*)::int FROM dash_meta WHERE key = 'storage_mode') AS mode`);
      expect(rows[0]).toEqual({ events: null, rollup: null, extension: 0, mode: 0 });
      await migrated(name, 'auto');
      expect(await storageModeOf(pool)).toBe('native');
    });
  });

  describe('on TimescaleDB (preloaded)', () => {
    it.each<Mode>(['auto', 'timescale'])('stores events in a hypertable with continuous aggregates in %s mode, without a warning', async (mode) => {
      const name = fresh('timescaledb');
      const warnings = await warningsDuring(() => migrated(name, mode, 'timescaledb'));
      expect(warnings).toEqual([]);
      const pool = poolOf(name, 'timescaledb');
      expect(await storageModeOf(pool)).toBe('timescale');
      const hypertables = await pool.query(`SELECT hypertable_name FROM timescaledb_information.hypertables`);
      expect(hypertables.rows.map((r) => r.hypertable_name)).toContain('events');
      const dimension = await pool.query(`SELECT column_name, time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'events'`);
      expect(dimension.rows).toEqual([{ column_name: 'occurred_at', time_interval: { days: 1 } }]);
      const aggregates = await pool.query(`SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates ORDER BY view_name`);
      expect(aggregates.rows).toEqual([
        { view_name: 'event_counts_1h', materialized_only: false },
        { view_name: 'event_counts_1m', materialized_only: false },
      ]);
      // Refreshed from the beginning (start_offset null): a late event of any age is counted.
      const refresh = await pool.query(`
        SELECT h.view_name, j.config->'start_offset' AS start_offset, j.config->>'end_offset' AS end_offset
        FROM timescaledb_information.jobs j JOIN timescaledb_information.continuous_aggregates h ON h.view_name = j.hypertable_name
        WHERE j.proc_name = 'policy_refresh_continuous_aggregate' ORDER BY h.view_name`);
      expect(refresh.rows).toEqual([
        { view_name: 'event_counts_1h', start_offset: null, end_offset: '01:00:00' },
        { view_name: 'event_counts_1m', start_offset: null, end_offset: '00:01:00' },
      ]);
    });

    it('keeps native partitions when STORAGE_MODE=native, even where TimescaleDB works', async () => {
      const name = fresh('timescaledb');
      await migrated(name, 'native', 'timescaledb');
      const pool = poolOf(name, 'timescaledb');
      expect(await storageModeOf(pool)).toBe('native');
      expect((await pool.query(`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'timescaledb'`)).rows[0].n).toBe(0);
    });
  });

  describe.each(STORAGE_SERVERS)('on $server', ({ server, storageMode }) => {
    it('migrates concurrently started nodes once', async () => {
      const name = fresh(server);
      await Promise.all([migrated(name, 'auto', server), migrated(name, 'auto', server), migrated(name, 'auto', server)]);
      const pool = poolOf(name, server);
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM dash_migrations');
      const all = createDataSource({ databaseUrl: testDatabaseUrl(name, server), storageMode: 'auto' }).options.migrations as unknown[];
      expect(Number(rows[0].n)).toBe(all.length);
      expect(await storageModeOf(pool)).toBe(storageMode);
    });
  });

  it('moves rows out of the default partition when it creates the partition for their day', async () => {
    const name = fresh();
    await migrated(name, 'native');
    const pool = poolOf(name);
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
