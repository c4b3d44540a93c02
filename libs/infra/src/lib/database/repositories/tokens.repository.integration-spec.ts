import { createHash, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../database';
import { createTestDatabase, type TestDatabase } from '../../../testing/test-database';
import { TokensRepository } from './tokens.repository';

describe(TokensRepository.name, () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let tokens: TokensRepository;
  let pipelineId: string;

  beforeAll(async () => {
    database = await createTestDatabase('tokens_repo');
    dataSource = createDataSource({ databaseUrl: database.url, storageMode: 'native' });
    await dataSource.initialize();
    tokens = new TokensRepository(dataSource);
    [{ id: pipelineId }] = (await dataSource.query(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('p', '{"type":"webhook"}', 'whsec_x') RETURNING id`)) as Array<{ id: string }>;
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  const hashOf = (token: string) => createHash('sha256').update(token).digest();

  it('stores a token by its hash, finds it by that hash only, and lists it newest first without the hash', async () => {
    const first = await tokens.insert(hashOf('first'), [pipelineId], 'first');
    const second = await tokens.insert(hashOf('second'), [pipelineId], null);
    expect(await tokens.findByHash(hashOf('first'))).toEqual({ id: first.id, pipelineIds: [pipelineId] });
    expect(await tokens.findByHash(hashOf('unknown'))).toBeNull();
    const listed = await tokens.list();
    expect(listed.map((row) => row.id)).toEqual([second.id, first.id]);
    expect(listed[1]).toEqual({ id: first.id, label: 'first', pipeline_ids: [pipelineId], created_at: first.createdAt, last_used_at: null });
  });

  it('records the latest use only, and deletes once', async () => {
    const { id } = await tokens.insert(hashOf('used'), [pipelineId], null);
    const later = new Date('2026-02-01T00:00:00Z');
    await tokens.touch([id], [later]);
    await tokens.touch([id], [new Date('2026-01-01T00:00:00Z')]);
    expect((await tokens.list()).find((row) => row.id === id)?.last_used_at).toEqual(later);

    const unknown = randomUUID();
    expect(await tokens.existingIds([id, unknown])).toEqual(new Set([id]));
    expect(await tokens.delete(id)).toBe(true);
    expect(await tokens.delete(id)).toBe(false);
    expect(await tokens.existingIds([id])).toEqual(new Set());
  });
});
