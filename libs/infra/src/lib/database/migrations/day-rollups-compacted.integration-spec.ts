import { migrationUnderTest } from '../../../testing/migration-under-test';
import { DayRollupsCompacted1765324800000 } from './1765324800000-day-rollups-compacted';
import { RollupBlocks1765411200000 } from './1765411200000-rollup-blocks';

const DAY_ROWS = `
  SELECT dimension, bucket, value, count::text, measures, measure_counts::text, sums::text, mins::text, maxes::text, skipped::text
  FROM dimension_rollup_1d WHERE pipeline_id = $1 ORDER BY 1, 2, 3`;

/** A rollup row's measures and their counts, sums, mins, maxes and skipped, as array literals. */
type Entries = [string, string, string, string, string, string];

describe(DayRollupsCompacted1765324800000.name, () => {
  const migrated = migrationUnderTest('day_rollups_compacted', new DayRollupsCompacted1765324800000(), [new RollupBlocks1765411200000()]);
  const run = (step: 'up' | 'down') => migrated.run(step);

  it('marks every pipeline at the current UTC day, leaving it no day rows from there, and makes its closed weeks; down makes the days from the hours', async () => {
    const [{ id }] = (await migrated.dataSource.query(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('p', '{"type":"webhook"}', 'whsec_x') RETURNING id`)) as Array<{ id: string }>;
    const today = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    const hour = (h: number) => new Date(today.getTime() + h * 3_600_000);
    await run('down');
    // The layout before: the writer kept every day's rows, today's too. Rows as (bucket, value, count, measures, then their entries).
    const seed = (table: string, rows: Array<[Date, string, number, ...Entries]>) =>
      migrated.dataSource.query(
        `INSERT INTO ${table} (pipeline_id, dimension, bucket, value, count, measures, measure_counts, sums, mins, maxes, skipped)
         SELECT $1, 'type', r.* FROM jsonb_to_recordset($2::jsonb) AS r(b timestamptz, v text, n bigint, m text[], c bigint[], s numeric[], lo numeric[], hi numeric[], x bigint[])`,
        [id, JSON.stringify(rows.map(([b, v, n, m, c, s, lo, hi, x]) => ({ b, v, n, m, c, s, lo, hi, x })))],
      );
    const paid = (n: number, entries: Entries): [string, number, ...Entries] => ['order.paid', n, ...entries];
    const fee: Entries = ['{data.fee,data.total}', '{2,1}', '{1,7}', '{0,7}', '{1,7}', '{0,0}'];
    const total: Entries = ['{data.total}', '{4}', '{10.5}', '{-3}', '{12.25}', '{1}'];
    const none: Entries = ['{}', '{}', '{}', '{}', '{}', '{}'];
    await seed('dimension_rollup_1h', [[hour(-30), ...paid(5, total)], [hour(0), ...paid(2, fee)], [hour(0), 'order.refunded', 1, ...none], [hour(1), ...paid(3, none)]]);
    await seed('dimension_rollup_1d', [
      [hour(-48), ...paid(5, total)],
      [today, ...paid(5, fee)],
      [today, 'order.refunded', 1, ...none],
      [hour(-240), ...paid(3, ['{data.total}', '{3}', '{4.5}', '{1}', '{2}', '{0}'])],
    ]);
    const before = await migrated.dataSource.query(DAY_ROWS, [id]);

    await run('up');
    const [{ mark }] = (await migrated.dataSource.query('SELECT day_rollups_before AS mark FROM pipelines WHERE id = $1', [id])) as Array<{ mark: Date }>;
    expect(mark).toEqual(today);
    expect(await migrated.dataSource.query(DAY_ROWS, [id])).toEqual(before.filter((row: { bucket: Date }) => row.bucket < today));
    // The weeks before the mark's week, made from their days (the days here fall in different weeks).
    const week = 7 * 86_400_000;
    const closedWeeks = before
      .filter((row: { bucket: Date }) => row.bucket.getTime() < Math.floor(today.getTime() / week) * week)
      .map((row: { bucket: Date }) => ({ ...row, bucket: new Date(Math.floor(row.bucket.getTime() / week) * week) }));
    expect(closedWeeks.length).toBeGreaterThan(0);
    expect(await migrated.dataSource.query(DAY_ROWS.replace('dimension_rollup_1d', 'dimension_rollup_1w'), [id])).toEqual(closedWeeks);

    await run('down');
    // Today's rows again, made from today's hours: counts summed, measures merged by name.
    expect(await migrated.dataSource.query(DAY_ROWS, [id])).toEqual(before);
    await run('up');
  });
});
