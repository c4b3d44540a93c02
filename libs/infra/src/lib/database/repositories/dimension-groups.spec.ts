import type { IngestEvent } from '@dash/domain';
import { preGroup, tokenAt } from './dimension-groups';

const P = '00000000-0000-4000-8000-000000000001';
const plan = { dimensions: ['data.currency'], measures: ['data.total'] };
const event = (id: string, payloadJson: string, minute = 0, type: string | null = 'paid'): IngestEvent => ({ pipelineId: P, id, type, occurredAt: Date.UTC(2026, 0, 1, 10, minute, 5), receivedAt: 0, payloadJson });

describe('preGroup (dimension rollups aggregated in the ingestor)', () => {
  it('groups by dimension, minute and raw value with exact sums, min and max, and skipped values', () => {
    const { plans, groups } = preGroup(
      [
        event('a', '{"data": {"currency": "EUR", "total": 0.1}}'),
        event('b', '{"data": {"currency": "EUR", "total": 0.2}}'),
        event('c', '{"data": {"currency": "EUR", "total": "n/a"}}'),
        event('d', '{"data": {"total": 12345678901234567890.5}}', 1, null),
      ],
      () => plan,
    );
    expect(plans).toEqual([{ p: P, ...plan, n: 4 }]);
    const eur = groups.find((g) => g.d === 'data.currency' && g.v === 'EUR');
    // 0.1 + 0.2 in decimal, as numeric sums them (not 0.30000000000000004).
    expect(eur).toMatchObject({ n: 3, m: [{ k: 'data.total', c: 2, s: '0.3', lo: '0.1', hi: '0.2', x: 1 }] });
    expect(groups.find((g) => g.d === 'data.currency' && g.v === null)).toMatchObject({ n: 1, m: [{ c: 1, s: '12345678901234567890.5' }] });
    expect(groups.filter((g) => g.d === 'type').map((g) => [g.v, g.n])).toEqual([
      ['paid', 3],
      [null, 1],
    ]);
  });

  it('leaves a pipeline to SQL when a value would read differently (an object as a value, an exponent), and skips pipelines without a known plan', () => {
    expect(preGroup([event('a', '{"data": {"currency": {"x": 1}}}')], () => plan).plans).toEqual([]);
    expect(preGroup([event('a', '{"data": {"total": 1e3}}')], () => plan).plans).toEqual([]);
    expect(preGroup([event('a', '{"data": {"currency": "EUR"}}')], () => undefined)).toEqual({ plans: [], groups: [] });
  });

  it('reads numbers as written, keeping their scale, wherever the text is spaced', () => {
    const { groups } = preGroup([event('a', '{"data": {"currency": 1.50, "total": 2.50}}')], () => plan);
    expect(groups.find((g) => g.d === 'data.currency')).toMatchObject({ v: '1.50', m: [{ s: '2.50' }] });
    expect(preGroup([event('a', '{"data" : {"total" :\t1e2}}')], () => plan).plans).toEqual([]); // an exponent: left to SQL
    const { groups: mixed } = preGroup([event('a', '{"at": "10:07.760", "data" : {"currency" :\n 7.0, "total" : 0.10}}'), event('b', '{"data":{"currency":7,"total":0.2}}')], () => plan);
    expect(mixed.filter((g) => g.d === 'data.currency').map((g) => [g.v, g.m[0].s])).toEqual([
      ['7.0', '0.10'],
      ['7', '0.2'],
    ]);
  });
});

describe('tokenAt', () => {
  it('finds the last member of a name and array elements by index, as jsonb does', () => {
    expect(tokenAt('{"a": [1, {"b": "x"}], "a": [2, {"b": 3.10}]}', ['a', '1', 'b'])).toEqual({ kind: 'number', text: '3.10' });
    expect(tokenAt('{"a": "}"}', ['a', 'b'])).toBeUndefined();
    expect(tokenAt('{"\\u0061": true}', ['a'])).toEqual({ kind: 'true', text: 'true' });
    expect(tokenAt('[]', ['0'])).toBeUndefined();
  });
});
