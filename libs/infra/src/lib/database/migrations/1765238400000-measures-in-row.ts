import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ADMIT_DIMENSION_VALUES_SQL } from './1733356800025-dimensions';

const TABLES: Array<[string, string]> = [
  ['dimension_rollup_1m', 'minute'],
  ['dimension_rollup_1h', 'hour'],
  ['dimension_rollup_1d', 'day'],
];

/**
 * A dimension rollup keeps its measures in the same row as its count: one row per (pipeline,
 * dimension, bucket, value) instead of one for the count and one per measure. The writer upserts a
 * third of the rows it did with two measures (PostgreSQL CPU per event with 4 dimensions and 2
 * measures, bench/write-dimension-cpu.mjs: see docs/performance.md), and a read with a measure
 * scans half the rows.
 *
 * `measures` names the measure paths a row holds, sorted; `measure_counts`, `sums`, `mins`,
 * `maxes` and `skipped` hold each one's numbers counted, their exact sum, min and max, and the
 * values that were not numbers, in the same order. Rows written together for a pipeline name the
 * same measures, so an upsert adds them position by position (`dash_merge_measures` only when a
 * row's measures differ: a measure declared later and backfilled).
 *
 * `dash_admit_dimension_values` no longer counts an hour's admitted values when every value of the
 * batch is among them already (the steady state): the count and the insert only run for new ones.
 */
export class MeasuresInRow1765238400000 implements MigrationInterface {
  name = 'MeasuresInRow1765238400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION dash_admit_dimension_values(pipelines uuid[], dimensions text[], hours timestamptz[], vals text[], cap int)
      RETURNS TABLE (admitted_pipeline uuid, admitted_dimension text, admitted_hour timestamptz, admitted_value text)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        k record;
        known int;
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
          GET DIAGNOSTICS known = ROW_COUNT;
          CONTINUE WHEN known = cardinality(k.vals);
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
      $fn$`);
    await q.query(`
      CREATE FUNCTION dash_measure_names(a text[], b text[]) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(array_agg(n ORDER BY n), '{}') FROM (SELECT unnest(a) UNION SELECT unnest(b)) u(n)
      $$`);
    // One column of two rows' measures, by name, over the union of their names (sorted); `op`: sum, min or max.
    await q.query(`
      CREATE FUNCTION dash_merge_measures(op text, a_names text[], a anycompatiblearray, b_names text[], b anycompatiblearray)
      RETURNS anycompatiblearray LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
      DECLARE
        merged a%TYPE := '{}';
        n text;
        x a%TYPE;
        y a%TYPE;
      BEGIN
        FOREACH n IN ARRAY dash_measure_names(a_names, b_names) LOOP
          x := ARRAY[a[array_position(a_names, n)]];
          y := ARRAY[b[array_position(b_names, n)]];
          merged := merged || CASE
            WHEN x[1] IS NULL THEN y
            WHEN y[1] IS NULL THEN x
            WHEN op = 'min' THEN ARRAY[least(x[1], y[1])]
            WHEN op = 'max' THEN ARRAY[greatest(x[1], y[1])]
            ELSE ARRAY[x[1] + y[1]]
          END;
        END LOOP;
        RETURN merged;
      END
      $fn$`);
    for (const [table, unit] of TABLES) {
      await q.query(`ALTER TABLE ${table} RENAME TO ${table}_by_measure`);
      await q.query(`ALTER TABLE ${table}_by_measure RENAME CONSTRAINT ${table}_pkey TO ${table}_by_measure_pkey`);
      await q.query(`
        CREATE TABLE ${table} (
          pipeline_id uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
          dimension text NOT NULL,
          bucket timestamptz NOT NULL CHECK (bucket = date_trunc('${unit}', bucket, 'UTC')),
          value text NOT NULL,
          count bigint NOT NULL,
          measures text[] NOT NULL,
          measure_counts bigint[] NOT NULL,
          sums numeric[] NOT NULL,
          mins numeric[] NOT NULL,
          maxes numeric[] NOT NULL,
          skipped bigint[] NOT NULL,
          CONSTRAINT ${table}_pkey PRIMARY KEY (pipeline_id, dimension, bucket, value)
        ) WITH (fillfactor = 70)`);
      await q.query(`
        INSERT INTO ${table}
        SELECT pipeline_id, dimension, bucket, value, coalesce(sum(count) FILTER (WHERE measure = ''), 0),
          coalesce(array_agg(measure ORDER BY measure) FILTER (WHERE measure <> ''), '{}'),
          coalesce(array_agg(count ORDER BY measure) FILTER (WHERE measure <> ''), '{}'),
          coalesce(array_agg(sum ORDER BY measure) FILTER (WHERE measure <> ''), '{}'),
          coalesce(array_agg(min ORDER BY measure) FILTER (WHERE measure <> ''), '{}'),
          coalesce(array_agg(max ORDER BY measure) FILTER (WHERE measure <> ''), '{}'),
          coalesce(array_agg(skipped ORDER BY measure) FILTER (WHERE measure <> ''), '{}')
        FROM ${table}_by_measure GROUP BY pipeline_id, dimension, bucket, value`);
      await q.query(`DROP TABLE ${table}_by_measure`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table, unit] of TABLES) {
      await q.query(`ALTER TABLE ${table} RENAME TO ${table}_in_row`);
      await q.query(`ALTER TABLE ${table}_in_row RENAME CONSTRAINT ${table}_pkey TO ${table}_in_row_pkey`);
      await q.query(`
        CREATE TABLE ${table} (
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
          CONSTRAINT ${table}_pkey PRIMARY KEY (pipeline_id, dimension, bucket, value, measure)
        ) WITH (fillfactor = 70)`);
      await q.query(`
        INSERT INTO ${table}
        SELECT pipeline_id, dimension, bucket, value, '', count, NULL, NULL, NULL, 0 FROM ${table}_in_row
        UNION ALL
        SELECT r.pipeline_id, r.dimension, r.bucket, r.value, m.measure, m.count, m.sum, m.min, m.max, m.skipped
        FROM ${table}_in_row r CROSS JOIN LATERAL unnest(r.measures, r.measure_counts, r.sums, r.mins, r.maxes, r.skipped) AS m(measure, count, sum, min, max, skipped)`);
      await q.query(`DROP TABLE ${table}_in_row`);
    }
    await q.query(`DROP FUNCTION IF EXISTS dash_merge_measures(text, text[], anycompatiblearray, text[], anycompatiblearray)`);
    await q.query(`DROP FUNCTION IF EXISTS dash_measure_names(text[], text[])`);
    await q.query(ADMIT_DIMENSION_VALUES_SQL.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'));
  }
}
