import { createDataSource, loadConfig, TokensRepository } from '@dash/infra';
import { createTestDatabase, type TestDatabase } from '@dash/infra/testing';
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AuthService } from './auth.service';

describe(AuthService.name, () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let auth: AuthService;
  let pipelineId: string;

  beforeAll(async () => {
    database = await createTestDatabase('auth');
    dataSource = createDataSource({ databaseUrl: database.url, storageMode: 'native' });
    await dataSource.initialize();
    const config = loadConfig({ DATABASE_URL: database.url, DASH_ADMIN_TOKEN: 'admin-token-0123456789', STORAGE_MODE: 'native' }, 'web');
    auth = new AuthService(config, new TokensRepository(dataSource));
    [{ id: pipelineId }] = (await dataSource.query(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('p', '{"type":"webhook"}', 'whsec_x') RETURNING id`)) as Array<{ id: string }>;
  });

  afterAll(async () => {
    await auth?.onApplicationShutdown();
    await dataSource?.destroy();
    await database?.drop();
  });

  it('keeps unknown tokens apart in a bounded cache: a flood of random ones neither grows it nor evicts a valid token', async () => {
    const { id, token } = await auth.createViewerToken([pipelineId], 'kept');
    expect(await auth.authenticate(token)).toMatchObject({ kind: 'viewer', tokenId: id });
    for (let i = 0; i < 1500; i++) expect(await auth.authenticate(`dash_vt_${randomBytes(24).toString('base64url')}`)).toBeNull();
    expect(auth.cacheSize.misses).toBeLessThanOrEqual(1000);
    expect(auth.cacheSize.viewers).toBe(1);
    // Still served from the cache: the row is gone, but nothing announced a revocation yet...
    await dataSource.query('DELETE FROM api_tokens WHERE id = $1', [id]);
    expect(await auth.authenticate(token)).toMatchObject({ kind: 'viewer', tokenId: id });
    // ...and refused as soon as one is.
    auth.forget(id);
    expect(await auth.authenticate(token)).toBeNull();
  });

  it('records a use at most once a minute, with one write when flushed', async () => {
    const { id, token } = await auth.createViewerToken([pipelineId]);
    await auth.authenticate(token);
    await auth.onApplicationShutdown();
    const [first] = (await dataSource.query('SELECT last_used_at FROM api_tokens WHERE id = $1', [id])) as Array<{ last_used_at: Date | null }>;
    expect(first.last_used_at).toBeInstanceOf(Date);
    await auth.authenticate(token);
    await auth.onApplicationShutdown();
    const [second] = (await dataSource.query('SELECT last_used_at FROM api_tokens WHERE id = $1', [id])) as Array<{ last_used_at: Date | null }>;
    expect(second.last_used_at?.getTime()).toBe(first.last_used_at?.getTime());
  });
});
