import type { SeriesRange, StatsRepository } from '@dash/infra';
import { parseSeriesQuery } from './series.params';
import { SeriesService } from './series.service';

/** A hand-written StatsRepository: answers `series` from a fixed map and keeps what it was asked. */
class FakeStats implements Pick<StatsRepository, 'series'> {
  readonly asked: Array<{ pipelineId: string; range: SeriesRange }> = [];
  constructor(private readonly counts: Map<number, number> = new Map()) {}

  async series(pipelineId: string, range: SeriesRange): Promise<Map<number, number>> {
    this.asked.push({ pipelineId, range });
    return this.counts;
  }
}

const serviceWith = (stats: FakeStats) => new SeriesService(stats as unknown as StatsRepository);
const at = (iso: string) => Date.parse(iso);

describe(SeriesService.name, () => {
  it('asks for the bucket size, the aligned range and the type it was given', async () => {
    const stats = new FakeStats();
    const query = parseSeriesQuery({ bucket: '5m', from: '2026-01-02T03:07:30Z', to: '2026-01-02T04:00:00Z', type: 'order.created' });
    await serviceWith(stats).series('p1', query);
    expect(stats.asked).toEqual([
      {
        pipelineId: 'p1',
        range: { interval: '5 minutes', bucketMs: 300_000, from: new Date('2026-01-02T03:05:00Z'), to: new Date('2026-01-02T04:00:00Z'), type: 'order.created' },
      },
    ]);
  });

  it('passes no type when none is asked for', async () => {
    const stats = new FakeStats();
    await serviceWith(stats).series('p1', parseSeriesQuery({ bucket: '1d', from: '2026-01-01T00:00:00Z', to: '2026-01-03T00:00:00Z' }));
    expect(stats.asked[0].range).toEqual({ interval: '1 day', bucketMs: 86_400_000, from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-01-03T00:00:00Z'), type: undefined });
  });

  it('answers every bucket of the range, zero where the rollups have nothing', async () => {
    const stats = new FakeStats(new Map([[at('2026-01-02T03:01:00Z'), 4]]));
    const series = await serviceWith(stats).series('p1', parseSeriesQuery({ bucket: '1m', from: '2026-01-02T03:00:00Z', to: '2026-01-02T03:03:30Z' }));
    expect(series).toEqual({
      bucket: '1m',
      from: '2026-01-02T03:00:00.000Z',
      to: '2026-01-02T03:03:30.000Z',
      points: [
        { t: '2026-01-02T03:00:00.000Z', count: 0 },
        { t: '2026-01-02T03:01:00.000Z', count: 4 },
        { t: '2026-01-02T03:02:00.000Z', count: 0 },
        { t: '2026-01-02T03:03:00.000Z', count: 0 },
      ],
    });
  });
});
