import { DashError, type SeriesBucket } from '@dash/domain';
import { alignDown, BUCKETS, parseSeriesQuery } from './series.params';

describe(parseSeriesQuery.name, () => {
  const now = Date.parse('2025-03-10T12:34:56.789Z');
  const DAY = 86_400_000;

  it.each([
    ['1m', '2025-03-10T11:34:00.000Z'],
    ['5m', '2025-03-09T12:30:00.000Z'],
    ['1h', '2025-03-03T12:00:00.000Z'],
    ['1d', '2024-12-10T00:00:00.000Z'],
  ] as Array<[SeriesBucket, string]>)('covers its default range for %s, from a bucket start, up to now', (bucket, from) => {
    expect(parseSeriesQuery({ bucket }, now)).toEqual({ bucket, from: new Date(from), to: new Date(now), type: undefined });
  });

  it('aligns buckets on UTC whatever the offset the times are written in', () => {
    const query = parseSeriesQuery({ bucket: '1d', from: '2025-03-10T01:00:00+05:00', to: '2025-03-12T00:00:00Z' }, now);
    // 01:00 at +05:00 is 20:00 UTC the day before: its day starts at midnight UTC on the 9th.
    expect(query.from.toISOString()).toBe('2025-03-09T00:00:00.000Z');
    expect(query.to.toISOString()).toBe('2025-03-12T00:00:00.000Z');
  });

  it('accepts a range of exactly the largest span, and refuses one millisecond more', () => {
    const to = '2025-03-10T00:00:00.000Z';
    const exactly = new Date(Date.parse(to) - BUCKETS['1m'].maxSpanMs).toISOString();
    const beyond = new Date(Date.parse(to) - BUCKETS['1m'].maxSpanMs - 1).toISOString();
    expect(parseSeriesQuery({ bucket: '1m', from: exactly, to }, now).from.toISOString()).toBe(exactly);
    expect(() => parseSeriesQuery({ bucket: '1m', from: beyond, to }, now)).toThrow(DashError);
  });

  it('refuses an empty range with 400 invalid_request', () => {
    let error: unknown;
    try {
      parseSeriesQuery({ from: '2025-03-10T00:00:00Z', to: '2025-03-10T00:00:00Z' }, now);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toMatchObject({ status: 400, code: 'invalid_request', message: 'from must be before to' });
  });

  it('refuses an impossible date instead of rolling it over, and refuses groupBy options without groupBy', () => {
    expect(() => parseSeriesQuery({ from: '2026-02-31T00:00:00Z', to: '2026-03-10T00:00:00Z', bucket: '1d' }, now)).toThrow(DashError);
    expect(() => parseSeriesQuery({ from: '2024-02-29T00:00:00Z', to: '2024-03-10T00:00:00Z', bucket: '1d' }, now)).not.toThrow();
    expect(() => parseSeriesQuery({ measure: 'sum:data.total' }, now)).toThrow('measure and where go with groupBy');
    expect(parseSeriesQuery({ groupBy: 'data.currency', measure: 'sum:data.total' }, now)).toMatchObject({ groupBy: 'data.currency', measure: { aggregate: 'sum', path: 'data.total' }, limit: 10 });
    expect(() => parseSeriesQuery({ groupBy: 'data.currency', measure: 'avg:data.total' }, now)).toThrow(DashError);
  });

  it('passes the event type through', () => {
    expect(parseSeriesQuery({ type: 'order.created' }, now).type).toBe('order.created');
  });

  it('bins like date_bin: multiples of the bucket since the Unix epoch', () => {
    expect(alignDown(Date.parse('1970-01-02T03:04:05Z'), DAY)).toBe(DAY);
    expect(alignDown(7 * 60_000 + 1, 5 * 60_000)).toBe(5 * 60_000);
  });
});
