import type { PipelineStats } from '@dash/domain';
import { BucketWindow } from './buckets';
import { PipelineFigure } from './live';

const stats = (version: number, count: number): PipelineStats => ({ pipelineId: 'p', count, version, lastEvent: null, lastEventAt: null });

describe(PipelineFigure.name, () => {
  it('takes the first snapshot as the figure', () => {
    const figure = new PipelineFigure();
    expect(figure.apply(stats(3, 10), 'snapshot')).toMatchObject({ delta: 0, initial: true });
    expect(figure.stats?.count).toBe(10);
  });

  it('drops an update whose version is not newer than the one shown', () => {
    const figure = new PipelineFigure();
    figure.apply(stats(5, 20), 'snapshot');
    expect(figure.apply(stats(5, 20), 'update')).toBeNull();
    expect(figure.apply(stats(4, 18), 'update')).toBeNull();
    expect(figure.stats?.count).toBe(20);
    expect(figure.apply(stats(6, 23), 'update')).toMatchObject({ delta: 3, initial: false });
  });

  it('takes a reconnect snapshot unless it is older, so the count never goes backwards', () => {
    const figure = new PipelineFigure();
    figure.apply(stats(5, 20), 'snapshot');
    expect(figure.apply(stats(9, 31), 'snapshot')).toMatchObject({ delta: 11, source: 'snapshot' });
    expect(figure.apply(stats(9, 31), 'snapshot')).toMatchObject({ delta: 0 });
    expect(figure.apply(stats(7, 25), 'snapshot')).toBeNull();
    expect(figure.stats?.count).toBe(31);
  });
});

describe(BucketWindow.name, () => {
  const minute = 60_000;
  const t0 = Date.parse('2026-01-01T10:00:00Z');
  const seeded = () => {
    const window = new BucketWindow('1m', 5 * minute);
    window.seed({ bucket: '1m', from: '', to: '', points: [0, 1, 2, 3, 4].map((i) => ({ t: new Date(t0 + i * minute).toISOString(), count: i })) }, t0 + 4 * minute + 30_000);
    return window;
  };

  it('adds a live delta to the bucket of the event time', () => {
    const window = seeded();
    expect(window.add(t0 + 4 * minute + 40_000, 3, t0 + 4 * minute + 41_000)).toBe(true);
    expect(window.counts).toEqual([0, 1, 2, 3, 7]);
    expect(window.add(t0 + 2 * minute, 1, t0 + 4 * minute + 41_000)).toBe(true);
    expect(window.total).toBe(14);
  });

  it('ignores late events before the window and slides forward with time', () => {
    const window = seeded();
    expect(window.add(t0 - 10 * minute, 1, t0 + 4 * minute + 50_000)).toBe(false);
    expect(window.add(t0 + 6 * minute + 1000, 2, t0 + 6 * minute + 2000)).toBe(true);
    expect(window.starts.map((t) => (t - t0) / minute)).toEqual([2, 3, 4, 5, 6]);
    expect(window.counts).toEqual([2, 3, 4, 0, 2]);
  });

  it('estimates events per minute over the last minute', () => {
    const window = seeded();
    // Half of the previous minute (3) plus the current one (4).
    expect(window.perMinute(t0 + 4 * minute + 30_000)).toBeCloseTo(5.5);
  });
});
