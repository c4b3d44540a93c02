import { migrationUnderTest } from '../../../testing/migration-under-test';
import { MeasuresInRow1765238400000 } from './1765238400000-measures-in-row';

/** The rows of the layout before MeasuresInRow: a count row (measure '') and a row per measure. */
const BY_MEASURE = `
  SELECT dimension, value, measure, count::text, sum::text, min::text, max::text, skipped::text
  FROM dimension_rollup_1h WHERE pipeline_id = $1 ORDER BY 1, 2, 3`;

describe(MeasuresInRow1765238400000.name, () => {
  const migrated = migrationUnderTest('measures_in_row', new MeasuresInRow1765238400000());
  const run = (step: 'up' | 'down') => migrated.run(step);

  it('folds a count row and its measure rows into one row, the measures sorted, and unfolds them back', async () => {
    const [{ id }] = (await migrated.dataSource.query(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('p', '{"type":"webhook"}', 'whsec_x') RETURNING id`)) as Array<{ id: string }>;
    await run('down');
    const hour = '2026-01-01T10:00:00Z';
    await migrated.dataSource.query(
      `INSERT INTO dimension_rollup_1h (pipeline_id, dimension, bucket, value, measure, count, sum, min, max, skipped) VALUES
         ($1, 'type', $2, 'order.paid', '', 5, NULL, NULL, NULL, 0),
         ($1, 'type', $2, 'order.paid', 'data.total', 4, 10.50, -3, 12.25, 1),
         ($1, 'type', $2, 'order.paid', 'data.fee', 0, NULL, NULL, NULL, 2),
         ($1, 'data.currency', $2, 'EUR', '', 3, NULL, NULL, NULL, 0)`,
      [id, hour],
    );
    const before = await migrated.dataSource.query(BY_MEASURE, [id]);

    await run('up');
    const rows = await migrated.dataSource.query(
      `SELECT dimension, value, count::text, measures, measure_counts::text, sums::text, mins::text, maxes::text, skipped::text
       FROM dimension_rollup_1h WHERE pipeline_id = $1 ORDER BY 1, 2`,
      [id],
    );
    expect(rows).toEqual([
      { dimension: 'data.currency', value: 'EUR', count: '3', measures: [], measure_counts: '{}', sums: '{}', mins: '{}', maxes: '{}', skipped: '{}' },
      {
        dimension: 'type',
        value: 'order.paid',
        count: '5',
        measures: ['data.fee', 'data.total'],
        measure_counts: '{0,4}',
        sums: '{NULL,10.50}',
        mins: '{NULL,-3}',
        maxes: '{NULL,12.25}',
        skipped: '{2,1}',
      },
    ]);

    await run('down');
    expect(await migrated.dataSource.query(BY_MEASURE, [id])).toEqual(before);
    expect(await admission()).not.toContain('CONTINUE WHEN known');
    await run('up');
    // The admission skips the count when every value of the batch is known.
    expect(await admission()).toContain('CONTINUE WHEN known = cardinality(k.vals)');
  });

  const admission = async () =>
    ((await migrated.dataSource.query(`SELECT pg_get_functiondef('dash_admit_dimension_values'::regproc) AS def`)) as Array<{ def: string }>)[0].def;

  it('merges two rows of different measures by name, and the same measures position by position', async () => {
    const merge = async (op: string, a: string[], x: string, b: string[], y: string) =>
      ((await migrated.dataSource.query(`SELECT dash_merge_measures($1, $2::text[], $3::numeric[], $4::text[], $5::numeric[])::text AS merged`, [op, a, x, b, y])) as Array<{ merged: string }>)[0].merged;
    expect(await merge('sum', ['a', 'c'], '{1,NULL}', ['b', 'c'], '{2,3.5}')).toBe('{1,2,3.5}');
    expect(await merge('min', ['a'], '{5}', ['a'], '{-1.25}')).toBe('{-1.25}');
    expect(await merge('max', ['a', 'b'], '{5,NULL}', ['a'], '{7}')).toBe('{7,NULL}');
    expect(await merge('sum', [], '{}', [], '{}')).toBe('{}');
  });
});
