import type { PipelineEntity, PipelinesRepository } from '@dash/infra';
import { PipelineCache } from './pipeline-cache';

const ID = '6f1c1f5e-2a51-4c1e-9d1e-0a4f3c2b1a00';
const SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;

const pipeline = (name: string): PipelineEntity => ({ id: ID, name, source: { type: 'webhook' }, signingSecret: SECRET, previousSecret: null, previousSecretExpiresAt: null }) as PipelineEntity;

/** A hand-written PipelinesRepository: each `findById` waits until the test answers it. */
class FakePipelines implements Pick<PipelinesRepository, 'findById'> {
  readonly pending: Array<(entity: PipelineEntity | null) => void> = [];

  findById(): Promise<PipelineEntity | null> {
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /** Answers the oldest read still waiting. */
  answer(entity: PipelineEntity | null): void {
    const next = this.pending.shift();
    if (!next) throw new Error('no read is waiting');
    next(entity);
  }
}

const cacheOver = (pipelines: FakePipelines) => new PipelineCache(pipelines as unknown as PipelinesRepository);

describe(PipelineCache.name, () => {
  it('reads the database once for many concurrent requests of one id', async () => {
    const pipelines = new FakePipelines();
    const cache = cacheOver(pipelines);
    const gets = [cache.get(ID), cache.get(ID), cache.get(ID.toUpperCase())];
    expect(pipelines.pending).toHaveLength(1);
    pipelines.answer(pipeline('one'));
    expect((await Promise.all(gets)).map((found) => found?.entity.name)).toEqual(['one', 'one', 'one']);
    expect(await cache.get(ID)).toMatchObject({ entity: { name: 'one' } });
    expect(pipelines.pending).toHaveLength(0);
  });

  it('does not cache what a read started before an eviction returns (the change it missed would stick)', async () => {
    const pipelines = new FakePipelines();
    const cache = cacheOver(pipelines);
    const stale = cache.get(ID);
    cache.evict(ID); // the pipeline changed (announced) while the read was in flight
    pipelines.answer(pipeline('before the change'));
    expect((await stale)?.entity.name).toBe('before the change');
    expect(cache.size).toEqual({ hits: 0, misses: 0 });

    const fresh = cache.get(ID);
    expect(pipelines.pending).toHaveLength(1); // read again, not served from the stale answer
    pipelines.answer(pipeline('after the change'));
    expect((await fresh)?.entity.name).toBe('after the change');
    expect(cache.size).toEqual({ hits: 1, misses: 0 });
  });

  it('does not remember a miss read before a clear', async () => {
    const pipelines = new FakePipelines();
    const cache = cacheOver(pipelines);
    const missing = cache.get(ID);
    cache.clear();
    pipelines.answer(null);
    expect(await missing).toBeNull();
    expect(cache.size).toEqual({ hits: 0, misses: 0 });
  });

  it('decodes the current key, and the previous one only during its grace period', async () => {
    const pipelines = new FakePipelines();
    const cache = cacheOver(pipelines);
    const rotated = { ...pipeline('rotated'), previousSecret: `whsec_${Buffer.alloc(24, 9).toString('base64')}`, previousSecretExpiresAt: new Date(2_000) } as PipelineEntity;
    const get = cache.get(ID);
    pipelines.answer(rotated);
    const cached = await get;
    if (!cached) throw new Error('expected a pipeline');
    expect(cache.keysOf(cached, 1_000)).toEqual([Buffer.alloc(24, 7), Buffer.alloc(24, 9)]);
    expect(cache.keysOf(cached, 2_000)).toEqual([Buffer.alloc(24, 7)]);
  });
});
