import type { IngestEvent } from '@dash/domain';
import type { FieldObservation, FieldSampleCount, FieldsRepository } from '@dash/infra';
import { CATALOG_FIRST_EVENTS, FieldCatalog } from './field-catalog';

/** A hand-written FieldsRepository that keeps what it was asked to record. */
class FakeFields implements Pick<FieldsRepository, 'record'> {
  readonly recorded: Array<{ observations: FieldObservation[]; samples: FieldSampleCount[] }> = [];
  failWith?: Error;

  async record(observations: readonly FieldObservation[], samples: readonly FieldSampleCount[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.recorded.push({ observations: [...observations], samples: [...samples] });
  }
}

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const event = (pipelineId: string, id: string, payload: unknown): IngestEvent => ({ pipelineId, id, type: null, occurredAt: 0, receivedAt: 0, payloadJson: JSON.stringify(payload) });

describe(FieldCatalog.name, () => {
  let now = 0;
  const make = () => {
    const fields = new FakeFields();
    return { fields, catalog: new FieldCatalog(fields as unknown as FieldsRepository, () => now) };
  };

  it(`samples a pipeline's first ${CATALOG_FIRST_EVENTS} events, then at most one a second, each pipeline on its own`, () => {
    const { catalog } = make();
    now = 1_000_000;
    const stored = new Set([A, B]);
    const burst = Array.from({ length: 50 }, (_, i) => event(A, `a${i}`, {}));
    expect(catalog.pick(burst, stored)).toHaveLength(CATALOG_FIRST_EVENTS);
    expect(catalog.pick([event(A, 'later', {}), event(B, 'b0', {})], stored).map((e) => e.id)).toEqual(['b0']);
    now += 999;
    expect(catalog.pick([event(A, 'x', {})], stored)).toEqual([]);
    now += 1;
    expect(catalog.pick([event(A, 'y', {}), event(A, 'z', {})], stored).map((e) => e.id)).toEqual(['y']);
  });

  it('samples nothing with FIELD_CATALOG=off', () => {
    const catalog = new FieldCatalog(new FakeFields() as unknown as FieldsRepository, () => now, { fieldCatalog: false });
    expect(catalog.pick([event(A, 'a', {}), event(B, 'b', {})], new Set([A, B]))).toEqual([]);
  });

  it('leaves out events of pipelines that stored nothing in the batch (orphans, duplicates only)', () => {
    const { catalog } = make();
    expect(catalog.pick([event(A, 'a', {}), event(B, 'b', {})], new Set([B])).map((e) => e.id)).toEqual(['b']);
  });

  it('merges a flush into one observation per path, with types, counts and distinct examples', () => {
    const { observations, samples } = FieldCatalog.observe([
      event(A, '1', { type: 'paid', data: { total: 5, currency: 'EUR' } }),
      event(A, '2', { type: 'paid', data: { total: 'n/a' } }),
      event(A, '3', { type: 'refunded', data: null }),
      event(B, '4', { other: true }),
    ]);
    expect(samples).toEqual([
      { pipelineId: A, sampled: 3 },
      { pipelineId: B, sampled: 1 },
    ]);
    const of = (pipelineId: string, path: string) => observations.find((o) => o.pipelineId === pipelineId && o.path === path);
    expect(of(A, 'type')).toEqual({ pipelineId: A, path: 'type', types: ['string'], seen: 3, examples: ['paid', 'refunded'] });
    expect(of(A, 'data')).toMatchObject({ types: ['object', 'null'], seen: 3, examples: [null] });
    expect(of(A, 'data.total')).toMatchObject({ types: ['number', 'string'], seen: 2, examples: [5, 'n/a'] });
    expect(of(A, 'data.currency')).toMatchObject({ seen: 1 });
    expect(of(B, 'other')).toMatchObject({ types: ['boolean'], examples: [true] });
  });

  it('records what it sampled in one call, and never throws when the database refuses', async () => {
    const { fields, catalog } = make();
    now = 5_000_000;
    await catalog.learn([event(A, '1', { a: 1 }), event(A, '2', { a: 2 })], new Set([A]));
    expect(fields.recorded).toHaveLength(1);
    expect(fields.recorded[0].samples).toEqual([{ pipelineId: A, sampled: 2 }]);
    fields.failWith = new Error('connection terminated');
    await expect(catalog.learn([event(B, '3', { b: 1 })], new Set([B]))).resolves.toBeUndefined();
  });
});
