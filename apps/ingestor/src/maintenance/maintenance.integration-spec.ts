import { createPool, createTestDatabase, loadConfig, type TestDatabase } from '@dash/infra';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { DEDUP_WINDOW_HOURS, MaintenanceService } from './maintenance.service';

describe(MaintenanceService.name, () => {
  let database: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    database = await createTestDatabase('maintenance');
    pool = createPool({ databaseUrl: database.url, role: 'ingestor' });
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  /** `count` deduplication claims of a new pipeline, received `hoursAgo` hours ago. */
  async function claims(count: number, hoursAgo: number): Promise<string> {
    const pipelineId = randomUUID();
    await pool.query(
      `INSERT INTO event_ids (pipeline_id, event_id, received_at)
       SELECT $1, 'evt_' || i, now() - make_interval(hours => $2) FROM generate_series(1, $3) AS i`,
      [pipelineId, hoursAgo, count],
    );
    return pipelineId;
  }

  const countOf = async (pipelineId: string) => Number((await pool.query('SELECT count(*) AS n FROM event_ids WHERE pipeline_id = $1', [pipelineId])).rows[0].n);

  it('keeps deduplication claims for the whole window (more than the promised 24 hours) and trims older ones', async () => {
    expect(DEDUP_WINDOW_HOURS).toBeGreaterThanOrEqual(24);
    const expired = await claims(300, DEDUP_WINDOW_HOURS + 1);
    const dayOld = await claims(20, 25);
    const nearEdge = await claims(20, DEDUP_WINDOW_HOURS - 1);
    const fresh = await claims(20, 0);

    await new MaintenanceService(pool, 'native', loadConfig({ DATABASE_URL: database.url }, 'ingestor')).run();

    expect(await countOf(expired)).toBe(0);
    expect(await countOf(dayOld)).toBe(20);
    expect(await countOf(nearEdge)).toBe(20);
    expect(await countOf(fresh)).toBe(20);
  });
});
