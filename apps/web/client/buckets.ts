import type { Series, SeriesBucket } from '@dash/domain';

export const BUCKET_MS: Record<SeriesBucket, number> = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 };

/**
 * A rolling window of counts per bucket, seeded from `/series` and moved by live updates:
 * each accepted update adds its count delta to the bucket of its newest event, and the window
 * slides forward as time passes, so the chart follows without refetching the series.
 */
export class BucketWindow {
  starts: number[] = [];
  counts: number[] = [];

  constructor(
    readonly bucket: SeriesBucket,
    readonly spanMs: number,
  ) {}

  get size(): number {
    return BUCKET_MS[this.bucket];
  }

  get total(): number {
    return this.counts.reduce((sum, count) => sum + count, 0);
  }

  /** The range to ask `/series` for: the span ending with the current bucket. */
  range(now = Date.now()): { from: Date } {
    return { from: new Date(Math.floor(now / this.size) * this.size - this.spanMs + this.size) };
  }

  seed(series: Series, now = Date.now()): void {
    this.starts = series.points.map((point) => Date.parse(point.t));
    this.counts = series.points.map((point) => point.count);
    this.slide(now);
  }

  /** Moves the window so its last bucket holds `now`, dropping buckets that fell out. */
  slide(now = Date.now()): boolean {
    const current = Math.floor(now / this.size) * this.size;
    const last = this.starts.at(-1);
    if (last === undefined || last >= current) return false;
    for (let t = last + this.size; t <= current; t += this.size) {
      this.starts.push(t);
      this.counts.push(0);
    }
    const first = current - this.spanMs + this.size;
    while (this.starts.length && this.starts[0] < first) {
      this.starts.shift();
      this.counts.shift();
    }
    return true;
  }

  /** Adds events at a time; false when that time is outside the window (a late event). */
  add(at: number, delta: number, now = Date.now()): boolean {
    this.slide(now);
    const start = Math.floor(Math.min(at, now) / this.size) * this.size;
    const index = this.starts.indexOf(start);
    if (index < 0) return false;
    this.counts[index] = Math.max(0, this.counts[index] + delta);
    return true;
  }

  /** Events in the last minute, by the sliding-window estimate over minute buckets. */
  perMinute(now = Date.now()): number {
    if (this.bucket !== '1m') return 0;
    this.slide(now);
    const n = this.counts.length;
    if (n === 0) return 0;
    const elapsed = (now - this.starts[n - 1]) / this.size;
    return this.counts[n - 1] + (n > 1 ? this.counts[n - 2] * (1 - elapsed) : 0);
  }
}
