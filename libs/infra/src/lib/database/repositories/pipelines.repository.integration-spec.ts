import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, createPool } from '../database';
import { createTestDatabase, STORAGE_SERVERS, type TestDatabase } from '../../../testing/test-database';
import { EventsRepository } from './events.repository';
import { PipelinesRepository } from './pipelines.repository';

describe.each(STORAGE_SERVERS)(`${PipelinesRepository.name} on $server ($storageMode)`, ({ server, storageMode }) => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let pool: Pool;
  let pipelines: PipelinesRepository;

  beforeAll(async () => {
    database = await createTestDatabase('pipelines_repo', storageMode, server);
    dataSource = createDataSource({ databaseUrl: database.url, storageMode });
    await dataSource.initialize();
    pool = createPool({ databaseUrl: database.url, role: 'web' });
    pipelines = new PipelinesRepository(dataSource, storageMode);
  });

  afterAll(async () => {
    await pool.end();
    await dataSource.destroy();
    await database.drop();
  });

  const create = (name: string, source: Parameters<PipelinesRepository['create']>[0]['source'] = { type: 'webhook' }) =>
    pipelines.create({ name, source, eventIdPath: 'id', eventTimePath: 'timestamp', eventTypePath: 'type', signingSecret: 'whsec_x' });
  const rowsOf = async (table: string, pipelineId: string) => Number((await pool.query(`SELECT count(*) AS n FROM ${table} WHERE pipeline_id = $1`, [pipelineId])).rows[0].n);

  it('creates a pipeline with its stats row, and deletes it with everything stored for it', async () => {
    const kept = await create('kept');
    const gone = await create('gone');
    expect(await rowsOf('pipeline_stats', gone.id)).toBe(1);
    const events = new EventsRepository(pool, storageMode);
    for (const pipeline of [kept, gone]) {
      await events.writeBatch([{ pipelineId: pipeline.id, id: 'e1', type: 't', occurredAt: Date.now(), receivedAt: Date.now(), payloadJson: '{}' }]);
    }

    await pipelines.delete(gone.id);

    expect(await pipelines.findById(gone.id)).toBeNull();
    const tables = ['pipeline_stats', 'event_ids', 'events', ...(storageMode === 'native' ? ['event_counts_1m', 'event_counts_1h'] : [])];
    for (const table of tables) expect([table, await rowsOf(table, gone.id)]).toEqual([table, 0]);
    for (const table of tables) expect([table, await rowsOf(table, kept.id)]).toEqual([table, 1]);
    expect(await pipelines.existing([kept.id, gone.id])).toEqual([kept.id]);
  });

  it('lists poll sources and records a poll without counting it as a change', async () => {
    const polled = await create('polled', { type: 'poll', url: 'https://example.com/items', intervalSeconds: 60 });
    await create('pushed');
    expect((await pipelines.pollSources()).filter((row) => row.id === polled.id)).toEqual([{ id: polled.id, source: polled.source }]);
    expect((await pipelines.pollSources()).every((row) => row.source.type === 'poll')).toBe(true);

    const result = { at: new Date().toISOString(), status: 'ok' as const, items: 3, error: null, cursor: 'c2' };
    await pipelines.recordPoll(polled.id, result);
    const read = await pipelines.findById(polled.id);
    expect(read?.lastPoll).toEqual(result);
    expect(read?.updatedAt).toEqual(polled.updatedAt);
  });
});
