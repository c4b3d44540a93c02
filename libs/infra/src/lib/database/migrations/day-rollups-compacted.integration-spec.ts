import type { DataSource } from 'typeorm';
import { createDataSource } from '../database';
import { createTestDatabase, type TestDatabase } from '../../../testing/test-database';
import { DayRollupsCompacted1765324800000 } from './1765324800000-day-rollups-compacted';

const DAY_ROWS = `
  SELECT dimension, bucket, value, count::text, measures, measure_counts::text, sums::text, mins::text, maxes::text, skipped::text
  FROM dimension_rollup_1d WHERE pipeline_id = $1 ORDER BY 1, 2, 3`;

describe(DayRollupsCompacted1765324800000.name, () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  const migration = new DayRollupsCompacted1765324800000();

  beforeAll(async () => {
    database = await createTestDatabase('day_rollups_compacted');
    dataSource = createDataSource({ databaseUrl: database.url, storageMode: 'native' });
    await dataSource.initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  async function run(step: 'up' | 'down'): Promise<void> {
    const runner = dataSource.createQueryRunner();
    try {
      await migration[step](runner);
    } finally {
      await runner.release();
    }
  }

  it('marks every pipeline at the current UTC day, leaving it no day rows from there, and makes its closed weeks; down makes the days from the hours', async () => {
    const [{ id }] = (await dataSource.query(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('p', '{"type":"webhook"}', 'whsec_x') RETURNING id`)) as Array<{ id: string }>;
    const today = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
    const hour = (h: number) => new Date(today.getTime() + h * 3_600_000);
    await run('down');
    // The layout before: the writer kept every day's rows, today's too.
    await dataSource.query(
      `INSERT INTO dimension_rollup_1h (pipeline_id, dimension, bucket, value, count, measures, measure_counts, sums, mins, maxes, skipped) VALUES
         ($1, 'type', $2, 'order.paid', 5, '{data.total}', '{4}', '{10.5}', '{-3}', '{12.25}', '{1}'),
         ($1, 'type', $3, 'order.paid', 2, '{data.fee,data.total}', '{2,1}', '{1,7}', '{0,7}', '{1,7}', '{0,0}'),
         ($1, 'type', $3, 'order.refunded', 1, '{}', '{}', '{}', '{}', '{}', '{}'),
         ($1, 'type', $4, 'order.paid', 3, '{}', '{}', '{}', '{}', '{}', '{}')`,
      [id, hour(-30), hour(0), hour(1)],
    );
    await dataSource.query(
      `INSERT INTO dimension_rollup_1d (pipeline_id, dimension, bucket, value, count, measures, measure_counts, sums, mins, maxes, skipped) VALUES
         ($1, 'type', $2, 'order.paid', 5, '{data.total}', '{4}', '{10.5}', '{-3}', '{12.25}', '{1}'),
         ($1, 'type', $3, 'order.paid', 5, '{data.fee,data.total}', '{2,1}', '{1,7}', '{0,7}', '{1,7}', '{0,0}'),
         ($1, 'type', $3, 'order.refunded', 1, '{}', '{}', '{}', '{}', '{}', '{}'),
         ($1, 'type', $4, 'order.paid', 3, '{data.total}', '{3}', '{4.5}', '{1}', '{2}', '{0}')`,
      [id, hour(-48), today, hour(-240)],
    );
    const before = await dataSource.query(DAY_ROWS, [id]);

    await run('up');
    const [{ mark }] = (await dataSource.query('SELECT day_rollups_before AS mark FROM pipelines WHERE id = $1', [id])) as Array<{ mark: Date }>;
    expect(mark).toEqual(today);
    expect(await dataSource.query(DAY_ROWS, [id])).toEqual(before.filter((row: { bucket: Date }) => row.bucket < today));
    // The weeks before the mark's week, made from their days (the days here fall in different weeks).
    const week = 7 * 86_400_000;
    const closedWeeks = before
      .filter((row: { bucket: Date }) => row.bucket.getTime() < Math.floor(today.getTime() / week) * week)
      .map((row: { bucket: Date }) => ({ ...row, bucket: new Date(Math.floor(row.bucket.getTime() / week) * week) }));
    expect(closedWeeks.length).toBeGreaterThan(0);
    expect(await dataSource.query(DAY_ROWS.replace('dimension_rollup_1d', 'dimension_rollup_1w'), [id])).toEqual(closedWeeks);

    await run('down');
    // Today's rows again, made from today's hours: counts summed, measures merged by name.
    expect(await dataSource.query(DAY_ROWS, [id])).toEqual(before);
    await run('up');
  });
});
