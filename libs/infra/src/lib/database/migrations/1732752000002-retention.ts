import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Native mode: drops the daily partitions of `events` whose whole day is older than the
 * retention (a DROP TABLE per day, no row-by-row DELETE), and the rows of the default partition
 * (late events outside the prepared days) older than it. The rollups are kept: series and counts
 * outlive the raw events. Returns the number of partitions dropped.
 */
const DROP_OLD_PARTITIONS = `
  CREATE FUNCTION dash_drop_old_event_partitions(retention_days int) RETURNS int
  LANGUAGE plpgsql AS $fn$
  DECLARE
    cutoff date := (now() AT TIME ZONE 'UTC')::date - retention_days;
    part record;
    dropped int := 0;
  BEGIN
    IF retention_days IS NULL OR retention_days < 1 THEN
      RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('dash_ensure_event_partitions'));
    FOR part IN
      SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'events'::regclass AND c.relname ~ '^events_[0-9]{8}$'
        AND to_date(substr(c.relname, 8), 'YYYYMMDD') < cutoff
      ORDER BY c.relname
    LOOP
      EXECUTE format('DROP TABLE %I', part.relname);
      dropped := dropped + 1;
    END LOOP;
    DELETE FROM events_default WHERE occurred_at < cutoff::timestamp AT TIME ZONE 'UTC';
    RETURN dropped;
  END
  $fn$`;

/**
 * TimescaleDB mode: (re)applies the retention policy on raw events and their compression
 * (segmented by pipeline, ordered like the reads) from configuration; 0 removes a policy.
 * Chunks are dropped or compressed by TimescaleDB's own background jobs. The continuous
 * aggregates keep their materialized counts. Raises where the edition lacks the policies
 * (Apache-only builds); the maintainer then falls back to drop_chunks itself.
 */
const APPLY_TIMESCALE_POLICIES = `
  CREATE FUNCTION dash_apply_timescale_policies(retention_days int, compress_after_days int) RETURNS text
  LANGUAGE plpgsql AS $fn$
  DECLARE
    compressed boolean;
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('dash_apply_timescale_policies'));
    PERFORM remove_retention_policy('events', if_exists => true);
    IF retention_days > 0 THEN
      PERFORM add_retention_policy('events', drop_after => make_interval(days => retention_days));
    END IF;
    PERFORM remove_compression_policy('events', if_exists => true);
    IF compress_after_days > 0 THEN
      SELECT h.compression_enabled INTO compressed FROM timescaledb_information.hypertables h WHERE h.hypertable_name = 'events';
      IF NOT coalesce(compressed, false) THEN
        ALTER TABLE events SET (
          timescaledb.compress,
          timescaledb.compress_segmentby = 'pipeline_id',
          timescaledb.compress_orderby = 'occurred_at DESC, seq DESC'
        );
      END IF;
      PERFORM add_compression_policy('events', compress_after => make_interval(days => compress_after_days));
    END IF;
    RETURN format('retention %s, compression %s',
      CASE WHEN retention_days > 0 THEN retention_days || ' days' ELSE 'off' END,
      CASE WHEN compress_after_days > 0 THEN 'after ' || compress_after_days || ' days' ELSE 'off' END);
  END
  $fn$`;

/** The retention (and, on TimescaleDB, compression) functions the ingestor's maintenance calls. */
export class Retention1732752000002 implements MigrationInterface {
  name = 'Retention1732752000002';

  async up(q: QueryRunner): Promise<void> {
    const [meta] = (await q.query(`SELECT value FROM dash_meta WHERE key = 'storage_mode'`)) as Array<{ value: string }>;
    if (meta?.value === 'timescale') await q.query(APPLY_TIMESCALE_POLICIES);
    else await q.query(DROP_OLD_PARTITIONS);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS dash_drop_old_event_partitions(int)`);
    await q.query(`DROP FUNCTION IF EXISTS dash_apply_timescale_policies(int, int)`);
  }
}
