import { createPool, DedupRepository, DimensionsRepository, EventsRepository, FailuresRepository, loadConfig, StorageRepository } from '@dash/infra';
import { createTestDatabase, STORAGE_SERVERS, type TestDatabase } from '@dash/infra/testing';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { EventWriter } from '../writer/event-writer';
import { DEDUP_WINDOW_HOURS, MaintenanceService } from './maintenance.service';

describe.each(STORAGE_SERVERS)(`${MaintenanceService.name} on $server ($storageMode)`, ({ server, storageMode }) => {
  let database: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    database = await createTestDatabase('maintenance', storageMode, server);
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

    await new MaintenanceService(new StorageRepository(pool, storageMode), new DedupRepository(pool), loadConfig({ DATABASE_URL: database.url }, 'ingestor')).run();

    expect(await countOf(expired)).toBe(0);
    expect(await countOf(dayOld)).toBe(20);
    expect(await countOf(nearEdge)).toBe(20);
    expect(await countOf(fresh)).toBe(20);
  });

  /** Per (table, dimension, value, UTC day): the events the dimension rollups count. */
  async function rollupDays(pipelineId: string): Promise<string[]> {
    const { rows } = await pool.query<{ row: string }>(
      `SELECT format('%s %s=%s %s: %s', t, dimension, value, to_char(date_trunc('day', bucket, 'UTC') AT TIME ZONE 'UTC', 'YYYY-MM-DD'), sum(count)) AS row FROM (
         SELECT '1m' AS t, * FROM dimension_rollup_1m UNION ALL SELECT '1h', * FROM dimension_rollup_1h UNION ALL SELECT '1d', * FROM dimension_rollup_1d
         UNION ALL SELECT '1w', * FROM dimension_rollup_1w
       ) r WHERE pipeline_id = $1 GROUP BY t, dimension, value, date_trunc('day', bucket, 'UTC') ORDER BY 1`,
      [pipelineId],
    );
    return rows.map((row) => row.row);
  }

  // Retention drops raw events only: series, counts and breakdowns of the dropped days stay, as
  // the count aggregates do (docs/storage.md).
  it('keeps the dimension rollups of events dropped past EVENT_RETENTION_DAYS, as it keeps the counts', async () => {
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO pipelines (name, source, signing_secret, dimensions) VALUES ('p', '{"type":"webhook"}', 'whsec_x', '{data.currency}') RETURNING id`);
    const pipelineId = rows[0].id;
    await pool.query('INSERT INTO pipeline_stats (pipeline_id) VALUES ($1)', [pipelineId]);
    const today = new Date();
    const noonDaysAgo = (days: number) => Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - days, 12);
    const writer = new EventWriter(new EventsRepository(pool, storageMode), new FailuresRepository(pool));
    const outcome = await writer.write([
      { pipelineId, id: 'expired', type: 'order.paid', occurredAt: noonDaysAgo(40), receivedAt: Date.now(), payloadJson: '{"data":{"currency":"EUR"}}' },
      { pipelineId, id: 'kept', type: 'order.paid', occurredAt: noonDaysAgo(5), receivedAt: Date.now(), payloadJson: '{"data":{"currency":"USD"}}' },
    ]);
    expect(outcome.failed).toBe(0);
    const before = await rollupDays(pipelineId);
    expect(before.filter((row) => !row.startsWith('1w'))).toHaveLength(3 * 2 * 2);
    // The week of 40 days ago is closed (that of 5 days ago may be, by the weekday).
    expect(before.filter((row) => row.startsWith('1w')).length).toBeGreaterThanOrEqual(2);

    const storage = new StorageRepository(pool, storageMode);
    await new MaintenanceService(storage, new DedupRepository(pool), loadConfig({ DATABASE_URL: database.url, EVENT_RETENTION_DAYS: '30' }, 'ingestor'), new DimensionsRepository(pool)).run();
    // TimescaleDB drops chunks in its retention job, which the maintainer has just set: run it now, as its scheduler would.
    if (storage.usesPolicyJobs) {
      const job = await pool.query<{ job_id: number }>(`SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_name = 'events'`);
      await pool.query('CALL run_job($1::int)', [job.rows[0].job_id]);
    }

    const left = await pool.query(`SELECT event_id FROM events WHERE pipeline_id = $1`, [pipelineId]);
    expect(left.rows.map((row) => row.event_id)).toEqual(['kept']);
    expect(await rollupDays(pipelineId)).toEqual(before);
  });
});

// Compression and retention as TimescaleDB 2.28 really runs them: the policies the maintainer
// applies from configuration, executed with run_job (what the background scheduler calls), and
// the counts read back through the continuous aggregates. The scheduler's own runs are paused in
// this database, so that none races the test's (a concurrent refresh is refused).
describe(`${MaintenanceService.name} on timescaledb: compression and retention policies`, () => {
  let database: TestDatabase;
  let pool: Pool;
  let writer: EventWriter;

  beforeAll(async () => {
    database = await createTestDatabase('tsdbpolicies', 'timescale', 'timescaledb');
    pool = createPool({ databaseUrl: database.url, role: 'ingestor' });
    writer = new EventWriter(new EventsRepository(pool, 'timescale'), new FailuresRepository(pool));
    await pauseScheduler();
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  /** Leaves this database's policy jobs to the test: they run only through runPolicy. */
  async function pauseScheduler(): Promise<void> {
    await pool.query(`SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs WHERE hypertable_name IN ('events', 'event_counts_1m', 'event_counts_1h')`);
  }

  async function maintain(env: Record<string, string>): Promise<void> {
    await new MaintenanceService(new StorageRepository(pool, 'timescale'), new DedupRepository(pool), loadConfig({ DATABASE_URL: database.url, ...env }, 'ingestor')).run();
    await pauseScheduler();
  }

  async function policies(): Promise<Record<string, unknown>> {
    const { rows } = await pool.query<{ proc_name: string; config: Record<string, unknown> }>(
      `SELECT proc_name, config FROM timescaledb_information.jobs WHERE hypertable_name = 'events' ORDER BY proc_name`,
    );
    return Object.fromEntries(rows.map((row) => [row.proc_name, row.config]));
  }

  /** How far back each continuous aggregate's refresh policy reaches (null: from the beginning). */
  async function refreshReach(): Promise<Record<string, unknown>> {
    const { rows } = await pool.query<{ view: string; reach: unknown }>(
      `SELECT hypertable_name AS view, config->'start_offset' AS reach FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' ORDER BY 1`,
    );
    return Object.fromEntries(rows.map((row) => [row.view, row.reach]));
  }

  /** Runs a policy job now, as TimescaleDB's scheduler would. */
  async function runPolicy(proc: string, relation = 'events'): Promise<void> {
    const { rows } = await pool.query<{ job_id: number }>(`SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = $1 AND hypertable_name = $2`, [proc, relation]);
    expect(rows).toHaveLength(1);
    // A run the scheduler started before it was paused may still hold the aggregate: wait it out.
    for (let attempt = 1; ; attempt++) {
      const error = await pool.query(`CALL run_job($1::int)`, [rows[0].job_id]).then(() => null, (e: Error) => e);
      if (!error) return;
      if (!error.message.includes('concurrent refresh') || attempt === 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Runs both refresh policies (minutes, then the hours built on them). */
  async function refreshAggregates(): Promise<void> {
    await runPolicy('policy_refresh_continuous_aggregate', 'event_counts_1m');
    await runPolicy('policy_refresh_continuous_aggregate', 'event_counts_1h');
  }

  async function chunks(): Promise<Array<{ day: string; compressed: boolean }>> {
    const { rows } = await pool.query<{ day: Date; compressed: boolean }>(
      `SELECT range_start AS day, is_compressed AS compressed FROM timescaledb_information.chunks WHERE hypertable_name = 'events' ORDER BY range_start`,
    );
    return rows.map((row) => ({ day: row.day.toISOString().slice(0, 10), compressed: row.compressed }));
  }

  async function pipeline(): Promise<string> {
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('p', '{"type":"webhook"}', 'whsec_x') RETURNING id`);
    await pool.query('INSERT INTO pipeline_stats (pipeline_id) VALUES ($1)', [rows[0].id]);
    return rows[0].id;
  }

  async function write(pipelineId: string, events: Array<{ id: string; at: number }>): Promise<void> {
    const outcome = await writer.write(
      events.map((event) => ({ pipelineId, id: event.id, type: 'tick', occurredAt: event.at, receivedAt: Date.now(), payloadJson: JSON.stringify({ id: event.id }) })),
    );
    expect(outcome.failed).toBe(0);
  }

  /** Counts per day from each aggregate, as the series reads them. */
  async function dailyCounts(pipelineId: string, view: 'event_counts_1m' | 'event_counts_1h'): Promise<Record<string, number>> {
    const { rows } = await pool.query<{ day: Date; n: string }>(
      `SELECT date_trunc('day', bucket, 'UTC') AS day, sum(count) AS n FROM ${view} WHERE pipeline_id = $1 GROUP BY 1 ORDER BY 1`,
      [pipelineId],
    );
    return Object.fromEntries(rows.map((row) => [row.day.toISOString().slice(0, 10), Number(row.n)]));
  }

  const dayOf = (at: number) => new Date(at).toISOString().slice(0, 10);
  const noonDaysAgo = (days: number) => Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() - days, 12);

  it('applies the retention and compression policies from configuration, and removes them at 0', async () => {
    await maintain({ EVENT_RETENTION_DAYS: '30', COMPRESS_AFTER_DAYS: '7' });
    expect(await policies()).toEqual({
      policy_compression: expect.objectContaining({ compress_after: '7 days' }),
      policy_retention: expect.objectContaining({ drop_after: '30 days' }),
    });
    // The aggregates refresh as far back as raw events are kept, never into dropped chunks.
    expect(await refreshReach()).toEqual({ event_counts_1h: '30 days', event_counts_1m: '30 days' });
    const settings = await pool.query(`SELECT segmentby, orderby FROM timescaledb_information.hypertable_compression_settings WHERE hypertable = 'events'::regclass`);
    expect(settings.rows).toEqual([{ segmentby: 'pipeline_id', orderby: 'occurred_at DESC,seq DESC' }]);

    await maintain({ EVENT_RETENTION_DAYS: '0', COMPRESS_AFTER_DAYS: '0' });
    expect(await policies()).toEqual({});
    expect(await refreshReach()).toEqual({ event_counts_1h: null, event_counts_1m: null });

    // The defaults: compression after 7 days, raw events kept forever.
    await maintain({});
    expect(await policies()).toEqual({ policy_compression: expect.objectContaining({ compress_after: '7 days' }) });
  });

  it('compresses chunks older than COMPRESS_AFTER_DAYS; reads, counts and a late event into a compressed chunk stay right', async () => {
    const id = await pipeline();
    const old = noonDaysAgo(10);
    const recent = noonDaysAgo(2);
    await write(id, [
      { id: 'old-1', at: old },
      { id: 'old-2', at: old + 60_000 },
      { id: 'recent', at: recent },
    ]);
    await refreshAggregates();
    await maintain({ COMPRESS_AFTER_DAYS: '7' });
    await runPolicy('policy_compression');

    const compressed = Object.fromEntries((await chunks()).map((chunk) => [chunk.day, chunk.compressed]));
    expect(compressed[dayOf(old)]).toBe(true);
    expect(compressed[dayOf(recent)]).toBe(false);
    const rows = await pool.query(`SELECT event_id, payload FROM events WHERE pipeline_id = $1 ORDER BY occurred_at, event_id`, [id]);
    expect(rows.rows).toEqual([
      { event_id: 'old-1', payload: { id: 'old-1' } },
      { event_id: 'old-2', payload: { id: 'old-2' } },
      { event_id: 'recent', payload: { id: 'recent' } },
    ]);

    // A late event for the compressed day, and a repeat of one already there.
    await write(id, [
      { id: 'late', at: old + 120_000 },
      { id: 'old-1', at: old },
    ]);
    expect(Object.fromEntries((await chunks()).map((chunk) => [chunk.day, chunk.compressed]))[dayOf(old)]).toBe(true);
    await refreshAggregates();
    const expected = { [dayOf(old)]: 3, [dayOf(recent)]: 1 };
    expect(await dailyCounts(id, 'event_counts_1m')).toEqual(expected);
    expect(await dailyCounts(id, 'event_counts_1h')).toEqual(expected);
    const stats = await pool.query(`SELECT count FROM pipeline_stats WHERE pipeline_id = $1`, [id]);
    expect(Number(stats.rows[0].count)).toBe(4);
  });

  it('counts a late event older than any refresh window once the refresh policy has run', async () => {
    const id = await pipeline();
    await maintain({});
    await refreshAggregates();
    const ancient = Date.UTC(2024, 5, 1, 8, 30);
    await write(id, [{ id: 'ancient', at: ancient }]);
    await refreshAggregates();
    expect(await dailyCounts(id, 'event_counts_1m')).toEqual({ [dayOf(ancient)]: 1 });
    expect(await dailyCounts(id, 'event_counts_1h')).toEqual({ [dayOf(ancient)]: 1 });
  });

  it('drops whole chunks past EVENT_RETENTION_DAYS when the policy runs; the aggregates keep their counts', async () => {
    const id = await pipeline();
    const expired = noonDaysAgo(40);
    const kept = noonDaysAgo(5);
    await write(id, [
      { id: 'expired', at: expired },
      { id: 'kept', at: kept },
    ]);
    await refreshAggregates();
    await maintain({ EVENT_RETENTION_DAYS: '30', COMPRESS_AFTER_DAYS: '7' });
    await runPolicy('policy_retention');

    expect((await chunks()).map((chunk) => chunk.day)).not.toContain(dayOf(expired));
    const left = await pool.query(`SELECT event_id FROM events WHERE pipeline_id = $1 ORDER BY event_id`, [id]);
    expect(left.rows.map((row) => row.event_id)).toEqual(['kept']);
    // Refreshing again (the policies run every few minutes) must not forget the dropped day.
    await refreshAggregates();
    const expected = { [dayOf(expired)]: 1, [dayOf(kept)]: 1 };
    expect(await dailyCounts(id, 'event_counts_1m')).toEqual(expected);
    expect(await dailyCounts(id, 'event_counts_1h')).toEqual(expected);
  });

});
