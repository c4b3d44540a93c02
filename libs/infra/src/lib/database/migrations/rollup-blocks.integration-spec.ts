import { migrationUnderTest } from '../../../testing/migration-under-test';
import { RollupBlocks1765411200000 } from './1765411200000-rollup-blocks';

const BLOCK_ROWS = `
  SELECT dimension, bucket, value, count::text, measures, measure_counts::text, sums::text, mins::text, maxes::text, skipped::text
  FROM dimension_rollup_6h WHERE pipeline_id = $1 ORDER BY 1, 2, 3`;

const HOUR_MS = 3_600_000;

describe(RollupBlocks1765411200000.name, () => {
  const migrated = migrationUnderTest('rollup_blocks', new RollupBlocks1765411200000());
  const query = <T>(sql: string, params: unknown[] = []) => migrated.dataSource.query(sql, params) as Promise<T[]>;

  it('makes the blocks before each pipeline\'s mark from their hours and keeps the mark; down floors it to its day', async () => {
    const today = Math.floor(Date.now() / (24 * HOUR_MS)) * 24 * HOUR_MS;
    const hour = (h: number) => new Date(today + h * HOUR_MS);
    await migrated.run('down');
    const [{ id }] = await query<{ id: string }>(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('p', '{"type":"webhook"}', 'whsec_x') RETURNING id`);
    expect((await query<{ mark: Date }>('SELECT day_rollups_before AS mark FROM pipelines WHERE id = $1', [id]))[0].mark).toEqual(hour(0));
    // Hours of yesterday's first block (two, measures to merge by name), of its third, and of today (after the mark: no block).
    await query(
      `INSERT INTO dimension_rollup_1h (pipeline_id, dimension, bucket, value, count, measures, measure_counts, sums, mins, maxes, skipped)
       SELECT $1, 'type', r.* FROM jsonb_to_recordset($2::jsonb) AS r(b timestamptz, v text, n bigint, m text[], c bigint[], s numeric[], lo numeric[], hi numeric[], x bigint[])`,
      [
        id,
        JSON.stringify([
          { b: hour(-24), v: 'order.paid', n: 2, m: ['data.fee', 'data.total'], c: [2, 1], s: [1, 7], lo: [0, 7], hi: [1, 7], x: [0, 0] },
          { b: hour(-19), v: 'order.paid', n: 5, m: ['data.total'], c: [4], s: [10.5], lo: [-3], hi: [12.25], x: [1] },
          { b: hour(-19), v: 'order.refunded', n: 1, m: [], c: [], s: [], lo: [], hi: [], x: [] },
          { b: hour(-11), v: 'order.paid', n: 3, m: [], c: [], s: [], lo: [], hi: [], x: [] },
          { b: hour(2), v: 'order.paid', n: 9, m: [], c: [], s: [], lo: [], hi: [], x: [] },
        ]),
      ],
    );

    await migrated.run('up');
    expect((await query<{ mark: Date }>('SELECT rollups_closed_before AS mark FROM pipelines WHERE id = $1', [id]))[0].mark).toEqual(hour(0));
    expect(await query(BLOCK_ROWS, [id])).toEqual([
      { dimension: 'type', bucket: hour(-24), value: 'order.paid', count: '7', measures: ['data.fee', 'data.total'], measure_counts: '{2,5}', sums: '{1,17.5}', mins: '{0,-3}', maxes: '{1,12.25}', skipped: '{0,1}' },
      { dimension: 'type', bucket: hour(-24), value: 'order.refunded', count: '1', measures: [], measure_counts: '{}', sums: '{}', mins: '{}', maxes: '{}', skipped: '{}' },
      { dimension: 'type', bucket: hour(-12), value: 'order.paid', count: '3', measures: [], measure_counts: '{}', sums: '{}', mins: '{}', maxes: '{}', skipped: '{}' },
    ]);
    // A new pipeline's mark: the current block's start. A block's bucket is one.
    const [{ fresh }] = await query<{ fresh: Date }>(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('q', '{"type":"webhook"}', 'whsec_x') RETURNING rollups_closed_before AS fresh`);
    expect(fresh).toEqual(new Date(Math.floor(Date.now() / (6 * HOUR_MS)) * 6 * HOUR_MS));
    await expect(query(`INSERT INTO dimension_rollup_6h (pipeline_id, dimension, bucket, value, count, measures, measure_counts, sums, mins, maxes, skipped) VALUES ($1, 'type', $2, 'x', 1, '{}', '{}', '{}', '{}', '{}', '{}')`, [id, hour(1)])).rejects.toThrow(/check constraint/);

    // Closed to noon, then down: back to the day's start (that day has no day rows).
    await query('UPDATE pipelines SET rollups_closed_before = $2 WHERE id = $1', [id, hour(12)]);
    await migrated.run('down');
    expect((await query<{ mark: Date }>('SELECT day_rollups_before AS mark FROM pipelines WHERE id = $1', [id]))[0].mark).toEqual(hour(0));
    expect(await query(`SELECT 1 FROM pg_tables WHERE tablename = 'dimension_rollup_6h'`)).toEqual([]);
    await migrated.run('up');
  });
});
