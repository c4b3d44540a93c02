import uPlot from 'uplot';
import type { GroupedSeries } from './api';
import { axisStyle, chartHeight, countTicks, fitPlot } from './chart';
import { h, setText } from './dom';
import { formatCount, formatTime } from './format';

/** What a grouped point is drawn by: its events, or the sum, min or max of the measure. */
export type PointStat = 'count' | 'sum' | 'min' | 'max';

// Distinct in light and dark; `(other)` is always the grey.
const PALETTE = ['#4f46e5', '#0891b2', '#d97706', '#db2777', '#16a34a', '#9333ea', '#dc2626', '#0d9488', '#ca8a04', '#2563eb'];
const OTHER_COLOUR = '#8b93a1';

/** A colour per value, stable while the values stay in the same order. */
export function groupColours(values: string[]): Map<string, string> {
  const colours = new Map<string, string>();
  let next = 0;
  for (const value of values) colours.set(value, value === '(other)' ? OTHER_COLOUR : PALETTE[next++ % PALETTE.length]);
  return colours;
}

export const formatValue = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : Number.isInteger(value) ? formatCount(value) : value.toLocaleString('en-US', { maximumFractionDigits: 2 }));

/**
 * Lines of the top values of a dimension over time (uPlot, one series a value). `data-groups`
 * on the element lists the values drawn, for automated checks; the table beside it is the legend.
 */
export class GroupsChart {
  readonly element: HTMLDivElement;
  readonly readout: HTMLSpanElement;
  private readonly empty: HTMLDivElement;
  private plot: uPlot | null = null;
  private shown: { series: GroupedSeries; stat: PointStat; groups: GroupedSeries['groups'] } | null = null;
  private readonly resize = new ResizeObserver(() => fitPlot(this.plot, this.element));

  constructor() {
    this.readout = h('span', { class: 'chart-readout muted' });
    this.empty = h('div', { class: 'chart-empty muted', hidden: true }, 'No events in this range');
    this.element = h('div', { class: 'chart', 'data-testid': 'breakdown-chart', role: 'img', 'aria-label': 'Chart of the top values over time, loading' }, this.empty);
    this.resize.observe(this.element);
  }

  /** Draws the groups (only `only`, when given: the value the view is filtered to). */
  show(series: GroupedSeries, stat: PointStat, colours: Map<string, string>, only?: string): void {
    const groups = only === undefined ? series.groups : series.groups.filter((group) => group.value === only);
    this.shown = { series, stat, groups };
    this.plot?.destroy();
    const times = (groups[0]?.points ?? series.groups[0]?.points ?? []).map((point) => Date.parse(point.t) / 1000);
    const values = groups.map((group) => group.points.map((point) => (stat === 'count' ? point.count : (point[stat] ?? null))));
    const axis = axisStyle();
    this.plot = new uPlot(
      {
        width: Math.max(240, this.element.clientWidth),
        height: chartHeight(),
        padding: [12, 8, 0, 0],
        legend: { show: false },
        cursor: { points: { show: true }, drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(4, Math.ceil(max * 1.15))] } },
        axes: [
          { ...axis, space: 70 },
          { ...axis, size: 56, values: stat === 'count' ? countTicks : undefined },
        ],
        series: [{}, ...groups.map((group) => ({ label: group.value, stroke: colours.get(group.value) ?? OTHER_COLOUR, width: 2, points: { show: times.length < 40 }, spanGaps: false }))],
        hooks: { setCursor: [(u) => this.hover(u)] },
      },
      [times, ...values] as uPlot.AlignedData,
      this.element,
    );
    const totals = groups.map((group) => group.points.reduce((sum, point) => sum + point.count, 0));
    this.element.dataset.groups = JSON.stringify(groups.map((group) => group.value));
    this.element.dataset.total = String(totals.reduce((sum, total) => sum + total, 0));
    this.empty.hidden = totals.some((total) => total > 0);
    this.element.setAttribute('aria-label', this.describe(totals));
    this.hover(this.plot);
  }

  private describe(totals: number[]): string {
    if (!this.shown || !this.shown.groups.length) return 'Chart of the top values over time: no data';
    const { series, groups } = this.shown;
    const parts = groups.map((group, index) => `${group.value} ${formatCount(totals[index])}`);
    return `Line chart of events by ${series.groupBy}, ${formatTime(series.from, 'minute')} to ${formatTime(series.to, 'minute')}: ${parts.join(', ')}.`;
  }

  private hover(u: uPlot): void {
    if (!this.shown) return;
    const { groups, stat } = this.shown;
    const index = u.cursor.idx;
    const first = groups[0]?.points;
    if (index === null || index === undefined || !first?.[index]) {
      setText(this.readout, `${groups.length} value${groups.length === 1 ? '' : 's'} in view`);
      return;
    }
    const busiest = [...groups].sort((a, b) => (b.points[index]?.count ?? 0) - (a.points[index]?.count ?? 0)).slice(0, 3);
    setText(this.readout, `${formatTime(first[index].t, 'minute')} · ${busiest.map((group) => `${group.value} ${formatValue(stat === 'count' ? group.points[index]?.count : group.points[index]?.[stat])}`).join(' · ')}`);
  }
}
