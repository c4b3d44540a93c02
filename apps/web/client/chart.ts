import uPlot from 'uplot';
import type { BucketWindow } from './buckets';
import { h, setText } from './dom';
import { formatCount, formatTime } from './format';

export function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

const BUCKET_WORDS: Record<string, string> = { '1m': 'minute', '5m': '5 minutes', '1h': 'hour', '1d': 'day' };


/**
 * A uPlot bar chart of a BucketWindow. `data-total` on the element carries the events
 * plotted, for automated checks.
 */
export class EventsChart {
  readonly element: HTMLDivElement;
  private readonly readout: HTMLSpanElement;
  private readonly empty: HTMLDivElement;
  private plot: uPlot | null = null;
  private window: BucketWindow | null = null;
  private readonly resize = new ResizeObserver(() => this.fitToContainer());

  constructor() {
    this.readout = h('span', { class: 'chart-readout muted' });
    this.empty = h('div', { class: 'chart-empty muted', hidden: true }, 'No events in this range');
    // The canvas says nothing to a screen reader: the element carries a text summary instead.
    this.element = h('div', { class: 'chart', 'data-testid': 'chart', role: 'img', 'aria-label': 'Chart of events over time, loading' }, this.empty);
    this.resize.observe(this.element);
  }

  get readoutElement(): HTMLSpanElement {
    return this.readout;
  }

  show(window: BucketWindow): void {
    this.window = window;
    this.plot?.destroy();
    this.plot = null;
    const width = Math.max(240, this.element.clientWidth);
    const accent = cssVar('--accent', '#4f46e5');
    const axis = axisStyle();
    this.plot = new uPlot(
      {
        width,
        height: this.height(),
        padding: [12, 8, 0, 0],
        legend: { show: false },
        cursor: { points: { show: false }, drag: { x: false, y: false } },
        scales: {
          // Half a bucket of room on each side, so the first and the current bar show whole.
          x: { time: true, range: (_u, min, max) => [min - window.size / 2000, max + window.size / 2000] },
          y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] },
        },
        axes: [
          { ...axis, space: 70 },
          { ...axis, size: 48, values: countTicks },
        ],
        series: [
          {},
          {
            label: 'events',
            stroke: accent,
            fill: `${accent}cc`,
            width: 0,
            points: { show: false },
            paths: uPlot.paths.bars?.({ size: [0.72, 48], gap: 1 }),
          },
        ],
        hooks: { setCursor: [(u) => this.hover(u)] },
      },
      this.data(),
      this.element,
    );
    this.render();
  }

  /** Redraws from the window (after live updates or as time slides). */
  render(): void {
    if (!this.plot || !this.window) return;
    this.plot.setData(this.data());
    this.element.dataset.total = String(this.window.total);
    this.empty.hidden = this.window.total > 0;
    this.element.dataset.bucket = this.window.bucket;
    this.element.setAttribute('aria-label', this.describe(this.window));
    this.hover(this.plot);
  }

  private data(): uPlot.AlignedData {
    const window = this.window;
    return window ? [window.starts.map((t) => t / 1000), window.counts.slice()] : [[], []];
  }

  /** The chart in words: range, total and the busiest bucket. */
  private describe(window: BucketWindow): string {
    const { starts, counts } = window;
    if (!starts.length) return 'Chart of events over time: no data';
    const size = BUCKET_WORDS[window.bucket] ?? window.bucket;
    const head = `Bar chart of events per ${size}, ${formatTime(starts[0], 'minute')} to ${formatTime(starts[starts.length - 1], 'minute')}: ${formatCount(window.total)} event${window.total === 1 ? '' : 's'}`;
    if (window.total === 0) return `${head}.`;
    let busiest = 0;
    counts.forEach((count, index) => (count > counts[busiest] ? (busiest = index) : undefined));
    return `${head}; busiest ${size} ${formatTime(starts[busiest], 'minute')} with ${formatCount(counts[busiest])}.`;
  }

  private hover(u: uPlot): void {
    const index = u.cursor.idx;
    const window = this.window;
    if (!window) return;
    if (index === null || index === undefined || window.starts[index] === undefined) {
      setText(this.readout, `${formatCount(window.total)} events in view`);
    } else {
      const count = window.counts[index];
      setText(this.readout, `${formatTime(window.starts[index], 'minute')} · ${formatCount(count)} event${count === 1 ? '' : 's'}`);
    }
  }

  private height(): number {
    return chartHeight();
  }

  private fitToContainer(): void {
    fitPlot(this.plot, this.element);
  }
}

/** The axes' look, from the page's colours (light or dark). */
export function axisStyle(): uPlot.Axis {
  const muted = cssVar('--muted', '#6b7280');
  const grid = cssVar('--grid', '#e5e7eb');
  return { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '12px system-ui, sans-serif' };
}

/** Whole-number y ticks with thousands separators. */
export const countTicks = (_u: uPlot, ticks: number[]): string[] => ticks.map((tick) => (Number.isInteger(tick) ? formatCount(tick) : ''));

export const chartHeight = (): number => (window.innerWidth < 600 ? 200 : 260);

/** Keeps a plot as wide as its container. */
export function fitPlot(plot: uPlot | null, element: HTMLElement): void {
  if (plot && element.clientWidth > 0 && Math.abs(plot.width - element.clientWidth) > 1) plot.setSize({ width: element.clientWidth, height: chartHeight() });
}
