import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ADMIT_DIMENSION_VALUES_SQL } from './1733356800025-dimensions';

const TABLES: Array<[string, string]> = [
  ['dimension_rollup_1m', 'minute'],
  ['dimension_rollup_1h', 'hour'],
  ['dimension_rollup_1d', 'day'],
];

/** `text` with `anchor` replaced, or an error: the first admission function is a fixed text, so a miss is a mistake here. */
function edit(text: string, anchor: string, replacement: string): string {
  if (!text.includes(anchor)) throw new Error(`MeasuresInRow: "${anchor}" not found in the admission function`);
  return text.replace(anchor, replacement);
}

/**
 * The admission function of the Dimensions migration with one step more: when every value of the
 * batch for a (pipeline, dimension, hour) is admitted already (the first query returns them all),
 * the count of the hour's values and the insert are skipped.
 */
const ADMIT_KNOWN_FIRST_SQL = [
  ['CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'],
  ['room int;', 'known int;\n        room int;'],
  ['          SELECT cap - count(*) INTO room', '          GET DIAGNOSTICS known = ROW_COUNT;\n          CONTINUE WHEN known = cardinality(k.vals);\n          SELECT cap - count(*) INTO room'],
].reduce((text, [anchor, replacement]) => edit(text, anchor, replacement), ADMIT_DIMENSION_VALUES_SQL);

/**
 * Replaces a rollup table by one of another layout: the old one is set aside under `<table>_<aside>`
 * (its key renamed with it), the new one created with the same key columns first, filled from the
 * old one by `fill`, and the old one dropped.
 */
async function rebuild(q: QueryRunner, table: string, unit: string, aside: string, layout: { columns: string; key: string; fill: (aside: string) => string }): Promise<void> {
  const old = `${table}_${aside}`;
  await q.query(`ALTER TABLE ${table} RENAME TO ${old}`);
  await q.query(`ALTER TABLE ${old} RENAME CONSTRAINT ${table}_pkey TO ${old}_pkey`);
  await q.query(`
    CREATE TABLE ${table} (
      pipeline_id uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
      dimension text NOT NULL,
      bucket timestamptz NOT NULL CHECK (bucket = date_trunc('${unit}', bucket, 'UTC')),
      value text NOT NULL,
      ${layout.columns},
      CONSTRAINT ${table}_pkey PRIMARY KEY (${layout.key})
    ) WITH (fillfactor = 70)`);
  await q.query(`INSERT INTO ${table} ${layout.fill(old)}`);
  await q.query(`DROP TABLE ${old}`);
}

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
    await q.query(ADMIT_KNOWN_FIRST_SQL);
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
      await rebuild(q, table, unit, 'by_measure', {
        columns: `count bigint NOT NULL, measures text[] NOT NULL, measure_counts bigint[] NOT NULL, sums numeric[] NOT NULL,
          mins numeric[] NOT NULL, maxes numeric[] NOT NULL, skipped bigint[] NOT NULL`,
        key: 'pipeline_id, dimension, bucket, value',
        fill: (aside) => `
          SELECT pipeline_id, dimension, bucket, value, coalesce(sum(count) FILTER (WHERE measure = ''), 0),
            ${['measure', 'count', 'sum', 'min', 'max', 'skipped'].map((column) => `coalesce(array_agg(${column} ORDER BY measure) FILTER (WHERE measure <> ''), '{}')`).join(',\n            ')}
          FROM ${aside} GROUP BY pipeline_id, dimension, bucket, value`,
      });
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table, unit] of TABLES) {
      await rebuild(q, table, unit, 'in_row', {
        columns: 'measure text NOT NULL, count bigint NOT NULL, sum numeric, min numeric, max numeric, skipped bigint NOT NULL',
        key: 'pipeline_id, dimension, bucket, value, measure',
        fill: (aside) => `
          SELECT pipeline_id, dimension, bucket, value, '', count, NULL, NULL, NULL, 0 FROM ${aside}
          UNION ALL
          SELECT r.pipeline_id, r.dimension, r.bucket, r.value, m.measure, m.count, m.sum, m.min, m.max, m.skipped
          FROM ${aside} r CROSS JOIN LATERAL unnest(r.measures, r.measure_counts, r.sums, r.mins, r.maxes, r.skipped) AS m(measure, count, sum, min, max, skipped)`,
      });
    }
    await q.query(`DROP FUNCTION IF EXISTS dash_merge_measures(text, text[], anycompatiblearray, text[], anycompatiblearray)`);
    await q.query(`DROP FUNCTION IF EXISTS dash_measure_names(text[], text[])`);
    await q.query(ADMIT_DIMENSION_VALUES_SQL.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'));
  }
}
