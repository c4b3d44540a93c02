import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A fingerprint of a set of hour rows, over their `row_xmin` and `row_ctid` (the rows' xmin and
 * ctid): a row added, updated or removed changes it (every new row version has a new xmin).
 */
export const HOUR_VERSIONS = `count(*)::text || ':' || coalesce(sum(hashtextextended(row_xmin::text || '/' || row_ctid::text, 0)), 0)::text`;

/**
 * Day rows of the dimension rollups made from the hour rows matching `hours` (a condition on `h`,
 * a dimension_rollup_1h row), for days that have none yet (the caller deletes any first: a DELETE
 * in the same statement would run after the INSERT). Per (dimension, value, day): the hours' counts
 * summed, and each measure's entries merged by name, the measures sorted as the writer sorts them.
 * Returns `versions`: the fingerprint of the hour rows it read (HOUR_VERSIONS).
 */
export function dayRollupsFromHoursSql(hours: string): string {
  return `
  WITH hours AS MATERIALIZED (
    SELECT h.*, h.xmin AS row_xmin, h.ctid AS row_ctid FROM dimension_rollup_1h h WHERE ${hours}
  ), days AS (
    SELECT pipeline_id, dimension, date_bin('1 day', bucket, timestamptz 'epoch') AS bucket, value, sum(count)::bigint AS count
    FROM hours GROUP BY 1, 2, 3, 4
  ), entries AS (
    SELECT h.pipeline_id, h.dimension, date_bin('1 day', h.bucket, timestamptz 'epoch') AS bucket, h.value, m.measure,
      sum(m.c)::bigint AS c, sum(m.s) AS s, min(m.lo) AS lo, max(m.hi) AS hi, sum(m.x)::bigint AS x
    FROM hours h CROSS JOIN LATERAL unnest(h.measures, h.measure_counts, h.sums, h.mins, h.maxes, h.skipped) AS m(measure, c, s, lo, hi, x)
    GROUP BY 1, 2, 3, 4, 5
  ), lists AS (
    SELECT pipeline_id, dimension, bucket, value, array_agg(measure ORDER BY measure) AS measures, array_agg(c ORDER BY measure) AS measure_counts,
      array_agg(s ORDER BY measure) AS sums, array_agg(lo ORDER BY measure) AS mins, array_agg(hi ORDER BY measure) AS maxes, array_agg(x ORDER BY measure) AS skipped
    FROM entries GROUP BY 1, 2, 3, 4
  ), made AS (
    INSERT INTO dimension_rollup_1d (pipeline_id, dimension, bucket, value, count, measures, measure_counts, sums, mins, maxes, skipped)
    SELECT d.pipeline_id, d.dimension, d.bucket, d.value, d.count, coalesce(l.measures, '{}'), coalesce(l.measure_counts, '{}'),
      coalesce(l.sums, '{}'), coalesce(l.mins, '{}'), coalesce(l.maxes, '{}'), coalesce(l.skipped, '{}')
    FROM days d LEFT JOIN lists l USING (pipeline_id, dimension, bucket, value)
    ORDER BY 1, 2, 3, 4
  )
  SELECT ${HOUR_VERSIONS} AS versions FROM hours`;
}

/** Day rows of the days after each pipeline's mark (not kept by the writer there). */
const UNKEPT_DAYS_SQL = `DELETE FROM dimension_rollup_1d r USING pipelines p WHERE p.id = r.pipeline_id AND r.bucket >= p.day_rollups_before`;

/**
 * Day rows of the dimension rollups only for closed days (issue 24's write cost): the writer upserts
 * a batch's minute and hour rows, and its day rows only for days before the pipeline's
 * `day_rollups_before`; the ingestors' upkeep makes each closed day's rows from its hours and moves
 * that mark (DimensionsRepository.compactDays), and reads take the days after it from the hours.
 * The mark starts at the current UTC day, for existing pipelines (their day rows of today are
 * dropped: today's hours hold the same) and new ones alike.
 */
export class DayRollupsCompacted1765324800000 implements MigrationInterface {
  name = 'DayRollupsCompacted1765324800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE pipelines ADD COLUMN day_rollups_before timestamptz NOT NULL DEFAULT date_bin('1 day', now(), timestamptz 'epoch')`);
    await q.query(UNKEPT_DAYS_SQL);
  }

  async down(q: QueryRunner): Promise<void> {
    // Every day the writer kept no rows for, made from its hours.
    await q.query(UNKEPT_DAYS_SQL);
    await q.query(dayRollupsFromHoursSql('h.bucket >= (SELECT p.day_rollups_before FROM pipelines p WHERE p.id = h.pipeline_id)'));
    await q.query(`ALTER TABLE pipelines DROP COLUMN day_rollups_before`);
  }
}
