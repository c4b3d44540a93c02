import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The refresh policies of both continuous aggregates, reaching back as far as raw events are kept:
 * from the beginning (`start_offset => NULL`) when they are kept forever, else the retention.
 * Below the materialization watermark a real-time aggregate reads only what was materialized, so
 * with the first fixed windows (3 and 7 days) a late event older than that was never counted.
 * A refresh only recomputes the buckets the invalidation log names, so a long window costs what
 * late events touched, not a rescan. It must stop at the retention: drop_chunks logs the dropped
 * range as invalidated, and refreshing it would recompute those buckets from no rows, erasing the
 * counts the series promise to keep.
 */
const REFRESH_POLICIES = `
  PERFORM remove_continuous_aggregate_policy('event_counts_1m', if_exists => true);
  PERFORM add_continuous_aggregate_policy('event_counts_1m', start_offset => reach,
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute');
  PERFORM remove_continuous_aggregate_policy('event_counts_1h', if_exists => true);
  PERFORM add_continuous_aggregate_policy('event_counts_1h', start_offset => reach,
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');`;

/** Migration 0002's function, now also setting the refresh policies' reach from the retention. */
const APPLY_TIMESCALE_POLICIES = `
  CREATE OR REPLACE FUNCTION dash_apply_timescale_policies(retention_days int, compress_after_days int) RETURNS text
  LANGUAGE plpgsql AS $fn$
  DECLARE
    compressed boolean;
    reach interval := CASE WHEN retention_days > 0 THEN make_interval(days => retention_days) END;
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('dash_apply_timescale_policies'));
    PERFORM remove_retention_policy('events', if_exists => true);
    IF retention_days > 0 THEN
      PERFORM add_retention_policy('events', drop_after => make_interval(days => retention_days));
    END IF;
    ${REFRESH_POLICIES}
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

/** TimescaleDB mode: late events of any age (within the retention) reach the series. Native mode needs nothing. */
export class LateEventRefresh1732752000004 implements MigrationInterface {
  name = 'LateEventRefresh1732752000004';

  async up(q: QueryRunner): Promise<void> {
    const [meta] = (await q.query(`SELECT value FROM dash_meta WHERE key = 'storage_mode'`)) as Array<{ value: string }>;
    if (meta?.value !== 'timescale') return;
    await q.query(APPLY_TIMESCALE_POLICIES);
    // Until the maintainer applies the configured retention at start: raw events are kept.
    await q.query(`DO $do$ DECLARE reach interval := NULL; BEGIN ${REFRESH_POLICIES} END $do$`);
  }

  async down(): Promise<void> {
    // The wider windows are what the first policies should have been; nothing to restore.
  }
}
