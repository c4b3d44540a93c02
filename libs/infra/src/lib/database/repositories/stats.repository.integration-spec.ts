import type { IngestEvent } from '@dash/domain';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createPool } from '../database';
import { createTestDatabase, STORAGE_SERVERS, type TestDatabase } from '../../../testing/test-database';
import { EventsRepository } from './events.repository';
import { StatsRepository } from './stats.repository';

describe.each(STORAGE_SERVERS)(`${StatsRepository.name} on $server ($storageMode)`, ({ server, storageMode }) => {
  let database: TestDatabase;
  let pool: Pool;
  let events: EventsRepository;
  let stats: StatsRepository;

  beforeAll(async () => {
    database = await createTestDatabase('stats_repo', storageMode, server);
    pool = createPool({ databaseUrl: database.url, role: 'web' });
    events = new EventsRepository(pool, storageMode);
    stats = new StatsRepository(pool);
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  async function pipeline(): Promise<string> {
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('p', '{"type":"webhook"}', 'whsec_x') RETURNING id`);
    await pool.query('INSERT INTO pipeline_stats (pipeline_id) VALUES ($1)', [rows[0].id]);
    return rows[0].id;
  }

  const event = (pipelineId: string, id: string, occurredAt: string, type = 'tick'): IngestEvent => ({
    pipelineId,
    id,
    type,
    occurredAt: Date.parse(occurredAt),
    receivedAt: Date.now(),
    payloadJson: '{}',
  });

  it('counts events per bucket from the rollups, by type when asked', async () => {
    const id = await pipeline();
    await events.writeBatch([
      event(id, 'a', '2026-01-02T03:10:00Z'),
      event(id, 'b', '2026-01-02T03:40:00Z', 'tock'),
      event(id, 'c', '2026-01-02T04:20:00Z'),
      event(id, 'outside', '2026-01-02T06:00:00Z'),
    ]);
    const range = { from: new Date('2026-01-02T03:00:00Z'), to: new Date('2026-01-02T05:00:00Z') };
    const hours = await stats.series(id, { ...range, interval: '1 hour', bucketMs: 3_600_000 });
    expect([...hours]).toEqual([
      [Date.parse('2026-01-02T03:00:00Z'), 2],
      [Date.parse('2026-01-02T04:00:00Z'), 1],
    ]);
    const fiveMinutes = await stats.series(id, { ...range, interval: '5 minutes', bucketMs: 300_000 });
    expect([...fiveMinutes]).toEqual([
      [Date.parse('2026-01-02T03:10:00Z'), 1],
      [Date.parse('2026-01-02T03:40:00Z'), 1],
      [Date.parse('2026-01-02T04:20:00Z'), 1],
    ]);
    const ticks = await stats.series(id, { ...range, interval: '1 day', bucketMs: 86_400_000, from: new Date('2026-01-02T00:00:00Z'), type: 'tick' });
    expect([...ticks]).toEqual([[Date.parse('2026-01-02T00:00:00Z'), 2]]); // a and c: b is a tock, 'outside' after `to`
  });

  it('reads stats and summaries, zero for a pipeline without any', async () => {
    const id = await pipeline();
    await events.writeBatch([event(id, 'a', '2026-01-02T03:10:00Z'), event(id, 'b', '2026-01-02T03:11:00Z')]);
    const read = await stats.stats(id);
    expect(read).toMatchObject({ pipelineId: id, count: 2, version: 1, lastEvent: { id: 'b', type: 'tick', payload: {} } });
    const unknown = randomUUID();
    expect(await stats.stats(unknown)).toEqual({ pipelineId: unknown, count: 0, lastEvent: null, lastEventAt: null, version: 0 });
    const summaries = await stats.summaries([id, unknown]);
    expect([...summaries.keys()]).toEqual([id]);
    expect(summaries.get(id)).toEqual({ count: 2, lastEventAt: read.lastEventAt });
  });
});
