import { createDataSource, PipelineEntity, PipelinesRepository } from '@dash/infra';
import { createTestDatabase, type TestDatabase } from '@dash/infra/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { PipelineCache } from './pipeline-cache';

describe(PipelineCache.name, () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase('pipeline_cache');
    dataSource = createDataSource({ databaseUrl: database.url, storageMode: 'native' });
    await dataSource.initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  const savePipeline = () =>
    dataSource.getRepository(PipelineEntity).save({ name: 'cached', source: { type: 'webhook' }, signingSecret: `whsec_${Buffer.alloc(24, 1).toString('base64')}` });

  it('keeps serving a pipeline in use while a flood of unknown ids comes and goes, and holds a bounded number of misses', async () => {
    const cache = new PipelineCache(new PipelinesRepository(dataSource, 'native'), { maxEntries: 100, maxMisses: 50 });
    const pipeline = await savePipeline();
    expect((await cache.get(pipeline.id))?.entity.name).toBe('cached');
    // Deleted behind the cache's back (no announcement): only a cached hit can still answer.
    await dataSource.query('DELETE FROM pipelines WHERE id = $1', [pipeline.id]);

    // Many more unknown ids than the whole cache holds: before, the cache was cleared at its cap.
    for (let round = 0; round < 10; round += 1) {
      await Promise.all(Array.from({ length: 50 }, () => cache.get(randomUUID()).then((found) => expect(found).toBeNull())));
    }
    expect((await cache.get(pipeline.id))?.entity.id).toBe(pipeline.id);
    expect(cache.size).toEqual({ hits: 1, misses: 50 });
  });

  it('evicts the least recently used pipeline, not all of them, when full', async () => {
    const cache = new PipelineCache(new PipelinesRepository(dataSource, 'native'), { maxEntries: 3, maxMisses: 3 });
    const [a, b, c, d] = [await savePipeline(), await savePipeline(), await savePipeline(), await savePipeline()];
    for (const pipeline of [a, b, c]) await cache.get(pipeline.id);
    await cache.get(a.id); // a used again: b is now the least recently used
    await dataSource.query('DELETE FROM pipelines WHERE id = ANY($1)', [[a.id, b.id, c.id]]);
    await cache.get(d.id);
    expect((await cache.get(a.id))?.entity.id).toBe(a.id);
    expect((await cache.get(c.id))?.entity.id).toBe(c.id);
    expect(await cache.get(b.id)).toBeNull();
  });

  it('answers a malformed id without asking the database', async () => {
    // A closed data source fails every query: only an answer that skips the database succeeds.
    const closed = createDataSource({ databaseUrl: database.url, storageMode: 'native' });
    await closed.initialize();
    await closed.destroy();
    const cache = new PipelineCache(new PipelinesRepository(closed, 'native'));
    await expect(cache.get(randomUUID())).rejects.toThrow();
    await expect(cache.get("1' OR '1'='1")).resolves.toBeNull();
    await expect(cache.get('x'.repeat(10_000))).resolves.toBeNull();
    expect(cache.size).toEqual({ hits: 0, misses: 0 });
  });

  it('forgets a miss once the pipeline is announced', async () => {
    const cache = new PipelineCache(new PipelinesRepository(dataSource, 'native'));
    const pipeline = await savePipeline();
    await dataSource.query('DELETE FROM pipelines WHERE id = $1', [pipeline.id]);
    expect(await cache.get(pipeline.id)).toBeNull();
    await dataSource.query('INSERT INTO pipelines (id, name, source, signing_secret) VALUES ($1, $2, $3, $4)', [pipeline.id, 'back', { type: 'webhook' }, pipeline.signingSecret]);
    expect(await cache.get(pipeline.id)).toBeNull(); // the miss is cached for a few seconds
    cache.evict(pipeline.id);
    expect((await cache.get(pipeline.id))?.entity.name).toBe('back');
  });
});
