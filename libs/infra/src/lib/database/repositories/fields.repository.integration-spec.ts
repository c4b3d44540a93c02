import { MAX_FIELD_PATHS } from '@dash/domain';
import type { Pool } from 'pg';
import { createPool } from '../database';
import { createTestDatabase, STORAGE_SERVERS, type TestDatabase } from '../../../testing/test-database';
import { FieldsRepository, type FieldObservation } from './fields.repository';

describe.each(STORAGE_SERVERS)(`${FieldsRepository.name} on $server`, ({ server, storageMode }) => {
  let database: TestDatabase;
  let pool: Pool;
  let fields: FieldsRepository;

  beforeAll(async () => {
    database = await createTestDatabase('fields_repo', storageMode, server);
    pool = createPool({ databaseUrl: database.url, role: 'ingestor' });
    fields = new FieldsRepository(pool);
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  async function pipeline(): Promise<string> {
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('p', '{"type":"webhook"}', 'whsec_x') RETURNING id`);
    return rows[0].id;
  }

  const seen = (pipelineId: string, path: string, count: number, examples: FieldObservation['examples'], types: FieldObservation['types'] = ['string']): FieldObservation => ({ pipelineId, path, types, seen: count, examples });

  it('merges flushes: types united, counts added, the first five distinct examples kept, share over the sampled events', async () => {
    const id = await pipeline();
    await fields.record([seen(id, 'data.currency', 2, ['EUR', 'USD']), seen(id, 'data.total', 1, [5], ['number'])], [{ pipelineId: id, sampled: 2 }]);
    const first = await fields.list(id);
    await fields.record([seen(id, 'data.currency', 1, ['USD', 'GBP', 'JPY', 'CHF', 'SEK']), seen(id, 'data.total', 2, ['n/a'], ['string'])], [{ pipelineId: id, sampled: 2 }]);
    const items = await fields.list(id);
    expect(items.map((item) => item.path)).toEqual(['data.currency', 'data.total']);
    expect(items[0]).toMatchObject({ types: ['string'], share: 0.75, examples: ['EUR', 'USD', 'GBP', 'JPY', 'CHF'] });
    expect(items[1]).toMatchObject({ types: ['number', 'string'], share: 0.75, examples: [5, 'n/a'] });
    expect(items[0].firstSeenAt).toBe(first[0].firstSeenAt);
    expect(Date.parse(items[0].lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(first[0].lastSeenAt));
  });

  it('merges a later flush into paths that hold no examples (objects), and learns the new paths it brings', async () => {
    const id = await pipeline();
    await fields.record([seen(id, 'data', 1, [], ['object']), seen(id, 'data.one', 1, [1], ['number'])], [{ pipelineId: id, sampled: 1 }]);
    await fields.record([seen(id, 'data', 1, [], ['object']), seen(id, 'data.two', 1, [2], ['number'])], [{ pipelineId: id, sampled: 1 }]);
    const items = await fields.list(id);
    expect(items.map((item) => item.path)).toEqual(['data', 'data.one', 'data.two']);
    expect(items[0]).toMatchObject({ types: ['object'], share: 1, examples: [] });
    expect(items[2]).toMatchObject({ share: 0.5, examples: [2] });
  });

  it(`keeps at most ${MAX_FIELD_PATHS} paths a pipeline, shallow first, and still updates the ones it holds`, async () => {
    const id = await pipeline();
    const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => seen(id, `${prefix}${String(i).padStart(3, '0')}`, 1, [i]));
    await fields.record(many('k', MAX_FIELD_PATHS - 10), [{ pipelineId: id, sampled: 1 }]);
    await fields.record([...many('deep.er.path', 20), ...many('s', 20), seen(id, 'k000', 1, ['again'])], [{ pipelineId: id, sampled: 1 }]);
    const items = await fields.list(id);
    expect(items).toHaveLength(MAX_FIELD_PATHS);
    expect(items.filter((item) => item.path.startsWith('s'))).toHaveLength(10);
    expect(items.filter((item) => item.path.startsWith('deep'))).toHaveLength(0);
    expect(items.find((item) => item.path === 'k000')).toMatchObject({ share: 1, examples: [0, 'again'] });
  });

  it('ignores pipelines deleted meanwhile and forgets a deleted pipeline’s catalog', async () => {
    const id = await pipeline();
    const gone = '00000000-0000-4000-8000-0000000000ff';
    await fields.record([seen(id, 'a', 1, ['x']), seen(gone, 'a', 1, ['x'])], [{ pipelineId: id, sampled: 1 }, { pipelineId: gone, sampled: 1 }]);
    expect(await fields.list(id)).toHaveLength(1);
    expect(await fields.list(gone)).toEqual([]);
    await pool.query('DELETE FROM pipelines WHERE id = $1', [id]);
    expect((await pool.query('SELECT 1 FROM field_catalog WHERE pipeline_id = $1 UNION ALL SELECT 1 FROM field_samples WHERE pipeline_id = $1', [id])).rowCount).toBe(0);
  });
});
