import { generateSigningSecret } from '@dash/domain';
import { PipelineEntity } from '@dash/infra';
import type { DataSource } from 'typeorm';
import { PipelineCache } from './pipeline-cache';

const ID = '0b5c9f5e-8a8e-4d4f-9c61-3f2e9d0a7c21';

const pipeline = (name: string) => Object.assign(new PipelineEntity(), { id: ID, name, signingSecret: generateSigningSecret(), previousSecret: null, previousSecretExpiresAt: null });

/**
 * The pipelines table as the cache reads it: each read waits until the test answers it, so a
 * change can land while a read is in flight.
 */
class FakePipelines {
  readonly reads: Array<{ id: string; answer: (row: PipelineEntity | null) => void }> = [];

  findOneBy({ id }: { id: string }): Promise<PipelineEntity | null> {
    return new Promise((resolve) => this.reads.push({ id, answer: resolve }));
  }

  /** The cache reaches the table through TypeORM's `getRepository` (the one method it calls). */
  asDataSource(): DataSource {
    return { getRepository: () => this } as unknown as DataSource;
  }
}

describe(PipelineCache.name, () => {
  let table: FakePipelines;
  let cache: PipelineCache;

  beforeEach(() => {
    table = new FakePipelines();
    cache = new PipelineCache(table.asDataSource());
  });

  it('reads a pipeline once and answers from memory afterwards, one read however many ask at once', async () => {
    const first = cache.get(ID);
    const second = cache.get(ID.toUpperCase());
    expect(table.reads).toHaveLength(1);
    table.reads[0].answer(pipeline('orders'));
    expect((await first)?.entity.name).toBe('orders');
    expect((await second)?.entity.name).toBe('orders');
    expect((await cache.get(ID))?.entity.name).toBe('orders');
    expect(table.reads).toHaveLength(1);
  });

  it('does not keep what a read started before a change found: the next request reads again', async () => {
    const before = cache.get(ID);
    expect(table.reads).toHaveLength(1);
    // The pipeline changes (its secret rotates) while the read is in flight; the read then answers the old row.
    cache.evict(ID);
    table.reads[0].answer(pipeline('before the change'));
    expect((await before)?.entity.name).toBe('before the change');

    const after = cache.get(ID);
    expect(table.reads).toHaveLength(2);
    table.reads[1].answer(pipeline('after the change'));
    expect((await after)?.entity.name).toBe('after the change');
  });

  it('does not keep a miss read before the pipeline was created either', async () => {
    const before = cache.get(ID);
    cache.clear(); // a Redis reconnect: changes announced meanwhile were missed
    table.reads[0].answer(null);
    expect(await before).toBeNull();

    const after = cache.get(ID);
    expect(table.reads).toHaveLength(2);
    table.reads[1].answer(pipeline('created'));
    expect((await after)?.entity.name).toBe('created');
  });

  it('never reads the table for an id that is not a UUID', async () => {
    expect(await cache.get('not-a-uuid')).toBeNull();
    expect(table.reads).toHaveLength(0);
  });
});
