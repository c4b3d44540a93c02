import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A fingerprint of a set of rollup rows, over their `row_xmin` and `row_ctid` (the rows' xmin and
 * ctid): a row added, updated or removed changes it (every new row version has a new xmin).
 */
export const ROW_VERSIONS = `count(*)::text || ':' || coalesce(sum(hashtextextended(row_xmin::text || '/' || row_ctid::text, 0)), 0)::text`;

/** A finer rollup table, the coarser one made from it, and the coarser one's bucket. */
export type Coarsening = {
  from: 'dimension_rollup_1h' | 'dimension_rollup_6h' | 'dimension_rollup_1d';
  to: 'dimension_rollup_6h' | 'dimension_rollup_1d' | 'dimension_rollup_1w';
  bin: '6 hours' | '1 day' | '7 days';
};
export const DAYS_FROM_HOURS: Coarsening = { from: 'dimension_rollup_1h', to: 'dimension_rollup_1d', bin: '1 day' };
/** Weeks are epoch-aligned 7-day bins (from a Thursday): internal, a read never shows them. */
export const WEEKS_FROM_DAYS: Coarsening = { from: 'dimension_rollup_1d', to: 'dimension_rollup_1w', bin: '7 days' };

/**
 * Rows of a coarser rollup table made from the finer rows matching `where` (a condition on `f`),
 * for buckets that have none yet (the caller deletes any first: a DELETE in the same statement
 * would run after the INSERT). Per (pipeline, dimension, value, bucket): the counts summed, and
 * each measure's entries merged by name, the measures sorted as the writer sorts them. Returns
 * `versions`: the fingerprint of the rows it read (ROW_VERSIONS).
 */
export function coarserRollupsSql({ from, to, bin }: Coarsening, where: string): string {
  return `
  WITH finer AS MATERIALIZED (
    SELECT f.*, f.xmin AS row_xmin, f.ctid AS row_ctid FROM ${from} f WHERE ${where}
  ), coarse AS (
    SELECT pipeline_id, dimension, date_bin('${bin}', bucket, timestamptz 'epoch') AS bucket, value, sum(count)::bigint AS count
    FROM finer GROUP BY 1, 2, 3, 4
  ), entries AS (
    SELECT f.pipeline_id, f.dimension, date_bin('${bin}', f.bucket, timestamptz 'epoch') AS bucket, f.value, m.measure,
      sum(m.c)::bigint AS c, sum(m.s) AS s, min(m.lo) AS lo, max(m.hi) AS hi, sum(m.x)::bigint AS x
    FROM finer f CROSS JOIN LATERAL unnest(f.measures, f.measure_counts, f.sums, f.mins, f.maxes, f.skipped) AS m(measure, c, s, lo, hi, x)
    GROUP BY 1, 2, 3, 4, 5
  ), lists AS (
    SELECT pipeline_id, dimension, bucket, value, array_agg(measure ORDER BY measure) AS measures, array_agg(c ORDER BY measure) AS measure_counts,
      array_agg(s ORDER BY measure) AS sums, array_agg(lo ORDER BY measure) AS mins, array_agg(hi ORDER BY measure) AS maxes, array_agg(x ORDER BY measure) AS skipped
    FROM entries GROUP BY 1, 2, 3, 4
  ), made AS (
    INSERT INTO ${to} (pipeline_id, dimension, bucket, value, count, measures, measure_counts, sums, mins, maxes, skipped)
    SELECT c.pipeline_id, c.dimension, c.bucket, c.value, c.count, coalesce(l.measures, '{}'), coalesce(l.measure_counts, '{}'),
      coalesce(l.sums, '{}'), coalesce(l.mins, '{}'), coalesce(l.maxes, '{}'), coalesce(l.skipped, '{}')
    FROM coarse c LEFT JOIN lists l USING (pipeline_id, dimension, bucket, value)
    ORDER BY 1, 2, 3, 4
  )
  SELECT ${ROW_VERSIONS} AS versions FROM finer`;
}

/** Day rows of the days after each pipeline's mark (not kept by the writer there). */
const UNKEPT_DAYS_SQL = `DELETE FROM dimension_rollup_1d r USING pipelines p WHERE p.id = r.pipeline_id AND r.bucket >= p.day_rollups_before`;

/**
 * Day rows of the dimension rollups only for closed days, and a table of weeks (issue 24's write
 * cost and read speed): the writer upserts a batch's minute and hour rows, its day rows only for
 * days before the pipeline's `day_rollups_before` and its week rows only for weeks before the
 * week that mark is in; the ingestors' upkeep makes each closed day's rows from its hours, each
 * closed week's from its days, and moves the mark (DimensionsRepository; blocks came later, see RollupBlocks); reads take
 * whole closed weeks from `dimension_rollup_1w`, closed days around them from the days, and later
 * days from the hours. The mark starts at the current UTC day, for existing pipelines (their day
 * rows of today are dropped: today's hours hold the same; their closed weeks are made from their
 * days) and new ones alike.
 */
export class DayRollupsCompacted1765324800000 implements MigrationInterface {
  name = 'DayRollupsCompacted1765324800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE pipelines ADD COLUMN day_rollups_before timestamptz NOT NULL DEFAULT date_bin('1 day', now(), timestamptz 'epoch')`);
    await q.query(UNKEPT_DAYS_SQL);
    // The daily table's columns and key; its foreign key, and a check of the week's bucket.
    await q.query('CREATE TABLE dimension_rollup_1w (LIKE dimension_rollup_1d INCLUDING DEFAULTS INCLUDING INDEXES) WITH (fillfactor = 70)');
    await q.query(`ALTER TABLE dimension_rollup_1w ADD FOREIGN KEY (pipeline_id) REFERENCES pipelines(id) ON DELETE CASCADE,
      ADD CHECK (bucket = date_bin('7 days', bucket, timestamptz 'epoch'))`);
    await q.query(coarserRollupsSql(WEEKS_FROM_DAYS, `f.bucket < (SELECT date_bin('7 days', p.day_rollups_before, timestamptz 'epoch') FROM pipelines p WHERE p.id = f.pipeline_id)`));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE dimension_rollup_1w');
    // Every day the writer kept no rows for, made from its hours.
    await q.query(UNKEPT_DAYS_SQL);
    await q.query(coarserRollupsSql(DAYS_FROM_HOURS, 'f.bucket >= (SELECT p.day_rollups_before FROM pipelines p WHERE p.id = f.pipeline_id)'));
    await q.query(`ALTER TABLE pipelines DROP COLUMN day_rollups_before`);
  }
}
