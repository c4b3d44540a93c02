import { Logger } from '@nestjs/common';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { StorageMode } from '../../config/config';

export type ResolvedStorageMode = Exclude<StorageMode, 'auto'>;

const EVENT_COLUMNS = `
  seq bigserial NOT NULL,
  pipeline_id uuid NOT NULL,
  event_id text NOT NULL,
  type text,
  occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  payload jsonb NOT NULL`;

/**
 * Whether TimescaleDB can work here, asked before anything is tried: a server that has the
 * extension installed but not preloaded ends the connection (FATAL) on `CREATE EXTENSION`
 * instead of raising an error a savepoint could catch. Null when it can, else the reason
 * with its fix.
 */
export async function timescaleUnavailableReason(q: Pick<QueryRunner, 'query'>): Promise<string | null> {
  const [row] = (await q.query(`
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS created,
           EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS installed,
           'timescaledb' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) AS preloaded`)) as Array<{
    created: boolean;
    installed: boolean;
    preloaded: boolean;
  }>;
  if (row.created) return null;
  if (!row.installed) return 'the timescaledb extension is not installed on this PostgreSQL server';
  if (!row.preloaded) return "timescaledb is installed but not preloaded: add shared_preload_libraries = 'timescaledb' to postgresql.conf and restart PostgreSQL";
  return null;
}

/**
 * TimescaleDB: a hypertable on event time with daily chunks, a per-minute continuous
 * aggregate with real-time aggregation (`materialized_only = false`, off by default since
 * 2.13) and an hourly one stacked on it (hierarchical, 2.9+), each with a refresh policy.
 * Compression and retention policies are added by the maintainer from configuration.
 */
async function createTimescaleStorage(q: QueryRunner): Promise<void> {
  await q.query(`CREATE TABLE events (${EVENT_COLUMNS})`);
  await q.query(`SELECT create_hypertable('events', by_range('occurred_at', INTERVAL '1 day'))`);
  await q.query(`CREATE INDEX events_pipeline_time ON events (pipeline_id, occurred_at DESC, seq DESC)`);
  await q.query(`
    CREATE MATERIALIZED VIEW event_counts_1m
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT pipeline_id, type, time_bucket(INTERVAL '1 minute', occurred_at) AS bucket, count(*) AS count
    FROM events
    GROUP BY pipeline_id, type, time_bucket(INTERVAL '1 minute', occurred_at)
    WITH NO DATA`);
  await q.query(`
    SELECT add_continuous_aggregate_policy('event_counts_1m',
      start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute')`);
  await q.query(`
    CREATE MATERIALIZED VIEW event_counts_1h
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT pipeline_id, type, time_bucket(INTERVAL '1 hour', bucket) AS bucket, sum(count)::bigint AS count
    FROM event_counts_1m
    GROUP BY pipeline_id, type, time_bucket(INTERVAL '1 hour', bucket)
    WITH NO DATA`);
  await q.query(`
    SELECT add_continuous_aggregate_policy('event_counts_1h',
      start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes')`);
}

/**
 * Stock PostgreSQL: events range-partitioned by day on event time, with a default partition
 * for times outside the prepared days, and rollup tables that the writer maintains in the
 * same transaction as each batch (no REFRESH MATERIALIZED VIEW).
 */
async function createNativeStorage(q: QueryRunner): Promise<void> {
  await q.query(`CREATE TABLE events (${EVENT_COLUMNS}) PARTITION BY RANGE (occurred_at)`);
  await q.query(`CREATE TABLE events_default PARTITION OF events DEFAULT`);
  await q.query(`CREATE INDEX events_pipeline_time ON events (pipeline_id, occurred_at DESC, seq DESC)`);
  for (const [name, bucket] of [['event_counts_1m', 'minute'], ['event_counts_1h', 'hour']]) {
    await q.query(`
      CREATE TABLE ${name} (
        pipeline_id uuid NOT NULL,
        type text,
        bucket timestamptz NOT NULL CHECK (bucket = date_trunc('${bucket}', bucket, 'UTC')),
        count bigint NOT NULL,
        CONSTRAINT ${name}_key UNIQUE NULLS NOT DISTINCT (pipeline_id, bucket, type)
      )`);
  }
  // Creates the daily partitions from days_back to days_ahead (UTC days) that do not exist yet,
  // moving any rows the default partition holds for that day, so that attaching never fails.
  await q.query(`
    CREATE FUNCTION dash_ensure_event_partitions(days_back int, days_ahead int) RETURNS int
    LANGUAGE plpgsql AS $fn$
    DECLARE
      day date;
      part text;
      lower_bound timestamptz;
      upper_bound timestamptz;
      created int := 0;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtext('dash_ensure_event_partitions'));
      FOR day IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date - days_back, (now() AT TIME ZONE 'UTC')::date + days_ahead, INTERVAL '1 day')::date LOOP
        part := 'events_' || to_char(day, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(part) IS NOT NULL;
        lower_bound := day::timestamp AT TIME ZONE 'UTC';
        upper_bound := (day + 1)::timestamp AT TIME ZONE 'UTC';
        EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS)', part);
        EXECUTE format('WITH moved AS (DELETE FROM events_default WHERE occurred_at >= %L AND occurred_at < %L RETURNING *) INSERT INTO %I SELECT * FROM moved', lower_bound, upper_bound, part);
        EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lower_bound, upper_bound);
        created := created + 1;
      END LOOP;
      RETURN created;
    END
    $fn$`);
  await q.query(`SELECT dash_ensure_event_partitions(1, 7)`);
}

/** Builds the storage migration for the configured mode; `auto` picks TimescaleDB when the extension can be created. */
export function eventStorageMigration(mode: StorageMode): new () => MigrationInterface {
  return class EventStorage1732752000001 implements MigrationInterface {
    name = 'EventStorage1732752000001';

    async up(q: QueryRunner): Promise<void> {
      let resolved: ResolvedStorageMode = mode === 'native' ? 'native' : 'timescale';
      const unavailable = mode === 'native' ? null : await timescaleUnavailableReason(q);
      if (unavailable) {
        if (mode === 'timescale') throw new Error(`STORAGE_MODE=timescale cannot work: ${unavailable}`);
        new Logger('Storage').warn(`STORAGE_MODE=auto: using native partitions because ${unavailable}`);
        resolved = 'native';
      }
      if (resolved === 'timescale') {
        await q.query(`CREATE EXTENSION IF NOT EXISTS timescaledb`);
        await createTimescaleStorage(q);
      }
      else await createNativeStorage(q);
      await q.query(`INSERT INTO dash_meta (key, value) VALUES ('storage_mode', $1)`, [resolved]);
      new Logger('Storage').log(`events stored in ${resolved === 'timescale' ? 'a TimescaleDB hypertable' : 'native daily partitions'}`);
    }

    async down(q: QueryRunner): Promise<void> {
      const [meta] = (await q.query(`SELECT value FROM dash_meta WHERE key = 'storage_mode'`)) as Array<{ value: string }>;
      if (meta?.value === 'timescale') await q.query(`DROP MATERIALIZED VIEW IF EXISTS event_counts_1h, event_counts_1m CASCADE`);
      else await q.query(`DROP TABLE IF EXISTS event_counts_1h, event_counts_1m`);
      await q.query(`DROP TABLE IF EXISTS events CASCADE`);
      await q.query(`DROP FUNCTION IF EXISTS dash_ensure_event_partitions(int, int)`);
      await q.query(`DELETE FROM dash_meta WHERE key = 'storage_mode'`);
    }
  };
}
