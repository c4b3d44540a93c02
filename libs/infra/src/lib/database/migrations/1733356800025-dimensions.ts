import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The first `dash_admit_dimension_values` (MeasuresInRow replaces it; its down restores this one). */
export const ADMIT_DIMENSION_VALUES_SQL = `
      CREATE FUNCTION dash_admit_dimension_values(pipelines uuid[], dimensions text[], hours timestamptz[], vals text[], cap int)
      RETURNS TABLE (admitted_pipeline uuid, admitted_dimension text, admitted_hour timestamptz, admitted_value text)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        k record;
        room int;
      BEGIN
        FOR k IN
          SELECT c.pipeline_id, c.dimension, c.hour, array_agg(DISTINCT c.value) AS vals
          FROM unnest(pipelines, dimensions, hours, vals) AS c(pipeline_id, dimension, hour, value)
          GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        LOOP
          PERFORM pg_advisory_xact_lock(hashtextextended('dash_dimension_values/' || k.pipeline_id || '/' || k.dimension || '/' || k.hour, 0));
          -- Each statement here takes a new snapshot: it sees the values of writers that held this lock before.
          RETURN QUERY SELECT v.pipeline_id, v.dimension, v.hour, v.value FROM dimension_values v
            WHERE v.pipeline_id = k.pipeline_id AND v.dimension = k.dimension AND v.hour = k.hour AND v.value = ANY (k.vals);
          SELECT cap - count(*) INTO room FROM dimension_values v WHERE v.pipeline_id = k.pipeline_id AND v.dimension = k.dimension AND v.hour = k.hour;
          IF room > 0 THEN
            -- New values in text order: the same batch admits the same ones, whoever writes it.
            RETURN QUERY INSERT INTO dimension_values AS v (pipeline_id, dimension, hour, value)
              SELECT k.pipeline_id, k.dimension, k.hour, x.value FROM unnest(k.vals) AS x(value)
              WHERE NOT EXISTS (SELECT 1 FROM dimension_values w WHERE w.pipeline_id = k.pipeline_id AND w.dimension = k.dimension AND w.hour = k.hour AND w.value = x.value)
              ORDER BY x.value LIMIT room
              RETURNING v.pipeline_id, v.dimension, v.hour, v.value;
          END IF;
        END LOOP;
      END
      $fn$`;

/**
 * The gold layer by payload field (issue 24): a pipeline's declared dimensions and measures, and
 * the rollups the writer keeps of them in the same transaction as the events, in both storage
 * modes. Not continuous aggregates on TimescaleDB: the cardinality cap (the first 1,000 distinct
 * values of a dimension in an hour, the rest `(other)`) depends on the order events arrive in,
 * which no aggregate over the stored rows can reproduce, and a dimension list that changes would
 * need the aggregate's query to change with it.
 *
 * - `dimension_values`: the values admitted per (pipeline, dimension, hour), at most the cap.
 *   `dash_admit_dimension_values` admits a batch's new values under a transaction-scoped advisory
 *   lock per (pipeline, dimension, hour), taken in key order, so concurrent writers see each
 *   other's committed values and the cap is exact.
 * - `dimension_rollup_1m` / `_1h` / `_1d` (UTC days): per (pipeline, dimension, value, bucket) the events counted
 *   (`measure = ''`) and, per measure path, the numbers' count, sum, min and max and the values
 *   skipped (present but not numbers).
 */
export class Dimensions1733356800025 implements MigrationInterface {
  name = 'Dimensions1733356800025';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE pipelines ADD COLUMN dimensions text[] NOT NULL DEFAULT '{}', ADD COLUMN measures text[] NOT NULL DEFAULT '{}'`);
    await q.query(`
      CREATE TABLE dimension_values (
        pipeline_id uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
        dimension text NOT NULL,
        hour timestamptz NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (pipeline_id, dimension, hour, value)
      )`);
    // The maintainer trims old hours.
    await q.query(`CREATE INDEX dimension_values_hour ON dimension_values (hour)`);
    for (const [name, unit] of [['dimension_rollup_1m', 'minute'], ['dimension_rollup_1h', 'hour'], ['dimension_rollup_1d', 'day']]) {
      await q.query(`
        CREATE TABLE ${name} (
          pipeline_id uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
          dimension text NOT NULL,
          bucket timestamptz NOT NULL CHECK (bucket = date_trunc('${unit}', bucket, 'UTC')),
          value text NOT NULL,
          measure text NOT NULL,
          count bigint NOT NULL,
          sum numeric,
          min numeric,
          max numeric,
          skipped bigint NOT NULL,
          PRIMARY KEY (pipeline_id, dimension, bucket, value, measure)
        )`);
    }
    // A dimension or measure declared later: the events stored before its declaration (seq up to
    // `boundary`), walked in (occurred_at, seq) order from the cursor, a bounded step at a time.
    await q.query(`
      CREATE TABLE dimension_backfills (
        id bigserial PRIMARY KEY,
        pipeline_id uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
        dimensions text[] NOT NULL,
        measures text[] NOT NULL,
        all_dimensions text[] NOT NULL,
        all_measures text[] NOT NULL,
        boundary bigint NOT NULL,
        total bigint NOT NULL,
        done bigint NOT NULL DEFAULT 0,
        cursor_at timestamptz NOT NULL DEFAULT '-infinity',
        cursor_seq bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    await q.query(`CREATE INDEX dimension_backfills_pending ON dimension_backfills (id) WHERE finished_at IS NULL`);
    await q.query(ADMIT_DIMENSION_VALUES_SQL);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS dash_admit_dimension_values(uuid[], text[], timestamptz[], text[], int)`);
    await q.query(`DROP TABLE IF EXISTS dimension_backfills, dimension_rollup_1m, dimension_rollup_1h, dimension_rollup_1d, dimension_values`);
    await q.query(`ALTER TABLE pipelines DROP COLUMN IF EXISTS dimensions, DROP COLUMN IF EXISTS measures`);
  }
}
