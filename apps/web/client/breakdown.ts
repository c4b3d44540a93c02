import type { BreakdownRange, BreakdownRequest, BreakdownUpdated } from '@dash/domain';
import { ApiError, getBreakdown, getGroupedSeries, type Breakdown, type GroupedSeries, type PipelineView, type SeriesBucket } from './api';
import { append, button, field, h, setText, statusLine } from './dom';
import { formatCount, formatTime } from './format';
import { formatValue, groupColours, GroupsChart, type PointStat } from './groups-chart';
import type { LiveConnection } from './live';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Values listed in the table and drawn in the chart; the rest are `(other)`. */
const TOP = 10;
/** The chart is re-read at most this often while live updates move the table. */
const CHART_REFRESH_MS = 5_000;
/** Where filters kept in the address (the API takes as many). */
const MAX_WHERE = 8;

const RANGES: Array<{ id: BreakdownRange; label: string; bucket: SeriesBucket; ms: number }> = [
  { id: '1h', label: '1 h', bucket: '1m', ms: HOUR },
  { id: '24h', label: '24 h', bucket: '1h', ms: DAY },
  { id: '7d', label: '7 d', bucket: '1h', ms: 7 * DAY },
  { id: '30d', label: '30 d', bucket: '1d', ms: 30 * DAY },
];
const STATS = ['sum', 'min', 'max'] as const;
/** Values that name no payload value, so they filter nothing. */
const SYNTHETIC = new Set(['(other)', '(none)']);

/** The breakdown view, as the address holds it: `?by=&measure=sum:<path>&where=<path>=<value>&range=`. */
export interface BreakdownView {
  by: string;
  /** `''` (events), or `sum:<path>`, `min:<path>`, `max:<path>` of a declared measure. */
  measure: string;
  where: string[];
  range: BreakdownRange;
}

const dimensionsOf = (pipeline: PipelineView): string[] => ['type', ...pipeline.dimensions.filter((path) => path !== 'type')];

/** Reads the view from the address, dropping what the pipeline does not declare. */
export function readView(pipeline: PipelineView, search = location.search): BreakdownView {
  const params = new URLSearchParams(search);
  const dimensions = dimensionsOf(pipeline);
  const by = params.get('by') ?? '';
  const measure = params.get('measure') ?? '';
  const [stat, ...rest] = measure.split(':');
  const range = RANGES.find((option) => option.id === params.get('range'))?.id ?? '24h';
  const where = params
    .getAll('where')
    .filter((filter) => filter.indexOf('=') > 0)
    .slice(0, MAX_WHERE);
  return {
    by: dimensions.includes(by) ? by : '',
    measure: (STATS as readonly string[]).includes(stat) && pipeline.measures.includes(rest.join(':')) ? measure : '',
    where,
    range,
  };
}

/** Puts the view in the address (replacing the entry: the view is a filter, not a new page). */
export function writeView(view: BreakdownView): void {
  const url = new URL(location.href);
  for (const key of ['by', 'measure', 'where', 'range']) url.searchParams.delete(key);
  if (view.by) url.searchParams.set('by', view.by);
  if (view.measure) url.searchParams.set('measure', view.measure);
  for (const filter of view.where) url.searchParams.append('where', filter);
  if (view.range !== '24h') url.searchParams.set('range', view.range);
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

const pathOf = (filter: string): string => filter.slice(0, filter.indexOf('='));
const valueOf = (filter: string): string => filter.slice(filter.indexOf('=') + 1);

export interface BreakdownSection {
  element: HTMLElement;
  /** The where filters of the view (the events list shows only matching events). */
  readonly where: string[];
  /** Dimensions or measures changed (from the Fields section); `reload` reads the breakdown again (a backfill ended). */
  setPipeline(pipeline: PipelineView, reload?: boolean): void;
  /** Drops every where filter. */
  clearWhere(): void;
}

/**
 * **Break down by** a dimension, with a **Measure**: the top values over time (chart) and in a
 * table with count, measure and share; a value's button filters the view and the events list.
 * The table follows `breakdown_updated`; the chart is re-read from the rollups at most every 5 s.
 */
export function breakdownSection(initial: PipelineView, live: LiveConnection, onWhere: (where: string[]) => void): BreakdownSection {
  let pipeline = initial;
  let view = readView(pipeline);
  let table: Breakdown | null = null;
  let series: GroupedSeries | null = null;
  let colours = new Map<string, string>();
  let generation = 0;
  let chartTimer: ReturnType<typeof setTimeout> | null = null;
  let chartReadAt = 0;

  const bySelect = h('select', { name: 'by', 'data-testid': 'breakdown-by' });
  const measureSelect = h('select', { name: 'measure', 'data-testid': 'breakdown-measure' });
  const rangeGroup = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Breakdown range' });
  const filters = h('div', { class: 'breakdown-filters', 'data-testid': 'breakdown-filters' });
  const status = statusLine('status-line muted small');
  status.dataset.testid = 'breakdown-status';
  const chart = new GroupsChart();
  const body = h('div', { class: 'breakdown-body' });
  const tableSlot = h('div', { class: 'breakdown-table-slot', 'data-testid': 'breakdown-table' });

  function fillPickers(): void {
    const dimensions = dimensionsOf(pipeline);
    bySelect.replaceChildren(h('option', { value: '' }, 'Nothing (all events)'), ...dimensions.map((path) => h('option', { value: path }, path)));
    bySelect.value = view.by;
    measureSelect.replaceChildren(h('option', { value: '' }, 'Events (count)'), ...pipeline.measures.flatMap((path) => STATS.map((stat) => h('option', { value: `${stat}:${path}` }, `${stat} of ${path}`))));
    measureSelect.value = view.measure;
    measureSelect.disabled = !view.by;
  }

  rangeGroup.replaceChildren(
    ...RANGES.map((option) => {
      const segment = h('button', { type: 'button', class: 'segment', 'data-range': option.id, 'aria-pressed': String(option.id === view.range) }, option.label);
      segment.addEventListener('click', () => {
        if (view.range === option.id) return;
        for (const other of rangeGroup.children) other.setAttribute('aria-pressed', String(other === segment));
        change({ range: option.id });
      });
      return segment;
    }),
  );

  bySelect.addEventListener('change', () => change({ by: bySelect.value, measure: bySelect.value ? view.measure : '' }));
  measureSelect.addEventListener('change', () => change({ measure: measureSelect.value }));

  function change(next: Partial<BreakdownView>): void {
    const whereBefore = view.where.join('\n');
    view = { ...view, ...next };
    writeView(view);
    fillPickers();
    renderFilters();
    if (view.where.join('\n') !== whereBefore) onWhere(view.where);
    void load();
  }

  /** Filters on the `by` dimension itself select a row; the others narrow the rollups read. */
  const selected = (): string | undefined => {
    const filter = view.where.find((item) => pathOf(item) === view.by);
    return filter === undefined ? undefined : valueOf(filter);
  };
  const narrowing = (): string[] => view.where.filter((item) => pathOf(item) !== view.by);

  function toggleValue(value: string): void {
    const others = view.where.filter((item) => pathOf(item) !== view.by);
    change({ where: selected() === value ? others : [...others, `${view.by}=${value}`].slice(-MAX_WHERE) });
  }

  function renderFilters(): void {
    filters.replaceChildren(
      ...view.where.map((filter) => {
        const remove = button(`Remove filter ${pathOf(filter)} = ${valueOf(filter)}`, () => change({ where: view.where.filter((item) => item !== filter) }), 'btn btn-ghost btn-small chip');
        remove.replaceChildren(h('span', { 'aria-hidden': 'true' }, `${pathOf(filter)} = ${valueOf(filter)} ×`));
        remove.setAttribute('aria-label', `Remove filter ${pathOf(filter)} = ${valueOf(filter)}`);
        return remove;
      }),
    );
    filters.hidden = view.where.length === 0;
  }

  const stat = (): PointStat => (view.measure ? (view.measure.split(':')[0] as PointStat) : 'count');
  const measurePath = (): string | undefined => (view.measure ? view.measure.slice(view.measure.indexOf(':') + 1) : undefined);

  function renderTable(): void {
    if (!table) return;
    const chosen = selected();
    const path = measurePath();
    const statName = stat();
    const head = h('tr', {}, h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col', class: 'num' }, 'Events'), h('th', { scope: 'col', class: 'num' }, 'Share'), path ? h('th', { scope: 'col', class: 'num' }, `${statName} of ${path}`) : null);
    const rows = table.items.map((item) => {
      const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true', style: `background:${colours.get(item.value) ?? 'transparent'}` });
      let label: HTMLElement;
      if (SYNTHETIC.has(item.value)) label = h('span', { class: 'muted' }, item.value);
      else {
        label = button(item.value, () => toggleValue(item.value), 'link-button');
        label.setAttribute('aria-pressed', String(chosen === item.value));
        label.title = chosen === item.value ? 'Show every value again' : `Only events where ${view.by} is ${item.value}`;
      }
      const measure = item.measure;
      return h(
        'tr',
        { 'data-value': item.value, class: chosen === item.value ? 'is-selected' : null },
        h('td', {}, h('span', { class: 'value-cell' }, swatch, label)),
        h('td', { class: 'num', 'data-col': 'count' }, formatCount(item.count)),
        h('td', { class: 'num', 'data-col': 'share' }, `${(item.share * 100).toFixed(1)}%`),
        path ? h('td', { class: 'num', 'data-col': 'measure' }, measure ? formatValue(measure[statName as 'sum' | 'min' | 'max']) : '–', measure?.skipped ? h('span', { class: 'muted small' }, ` (${formatCount(measure.skipped)} skipped)`) : null) : null,
      );
    });
    // A live update redraws the table: keyboard focus stays on the same value's button.
    const focused = tableSlot.contains(document.activeElement) ? document.activeElement?.closest('tr')?.getAttribute('data-value') : undefined;
    tableSlot.replaceChildren(
      table.items.length
        ? h('table', { class: 'table breakdown-table' }, h('caption', { class: 'visually-hidden' }, `Events by ${view.by}`), h('thead', {}, head), h('tbody', {}, ...rows))
        : h('p', { class: 'muted' }, 'No events in this range.'),
    );
    if (focused !== undefined && focused !== null) tableSlot.querySelector<HTMLElement>(`tr[data-value="${CSS.escape(focused)}"] button`)?.focus();
    tableSlot.dataset.total = String(table.total);
    // A filtered read covers the newest stored events only, up to the server's bound.
    const covered = table.partial && table.coveredFrom ? ` since ${formatTime(table.coveredFrom, 'minute')} only: a filtered view reads the newest stored events, up to a bound; narrow the range for all of it` : '';
    setText(status, `${formatCount(table.total)} events${narrowing().length ? ` where ${narrowing().join(' and ')}` : ''}${covered}`);
    status.dataset.partial = String(table.partial);
  }

  function renderChart(): void {
    if (series) chart.show(series, stat(), colours, selected());
  }

  function query() {
    const range = RANGES.find((option) => option.id === view.range) ?? RANGES[1];
    const to = new Date();
    return { range, query: { by: view.by, from: new Date(to.getTime() - range.ms), to, where: narrowing(), limit: TOP } };
  }

  async function readChart(): Promise<void> {
    const mine = generation;
    const { range, query: read } = query();
    chartReadAt = Date.now();
    const answer = await getGroupedSeries(pipeline.id, range.bucket, { ...read, measure: view.measure || undefined });
    if (mine !== generation) return;
    series = answer;
    // Colours follow the chart's order (largest first, `(other)` last); the table uses the same.
    colours = groupColours(answer.groups.map((group) => group.value));
    renderChart();
    renderTable();
  }

  function onUpdate(update: BreakdownUpdated): void {
    if (!view.by) return;
    table = { by: update.by, from: update.from, to: update.to, total: update.total, items: update.items, partial: update.partial, coveredFrom: update.coveredFrom };
    renderTable();
    // The totals moved: the chart follows, at most every CHART_REFRESH_MS.
    if (chartTimer) return;
    chartTimer = setTimeout(
      () => {
        chartTimer = null;
        readChart().catch(() => undefined);
      },
      Math.max(0, chartReadAt + CHART_REFRESH_MS - Date.now()),
    );
  }

  async function load(): Promise<void> {
    const mine = ++generation;
    if (!view.by) {
      live.followBreakdown(pipeline.id, null);
      table = null;
      series = null;
      body.hidden = true;
      setText(status, 'Pick a dimension to see its values over time.');
      return;
    }
    body.hidden = false;
    const { query: read } = query();
    const request: BreakdownRequest = { by: view.by, range: view.range };
    if (measurePath()) request.measure = measurePath();
    if (read.where.length) request.where = read.where;
    live.followBreakdown(pipeline.id, request, onUpdate);
    setText(status, 'Loading…');
    chart.element.classList.add('is-loading');
    try {
      const [answer] = await Promise.all([getBreakdown(pipeline.id, { ...read, measure: measurePath() }), readChart()]);
      if (mine !== generation) return;
      table = answer;
      renderTable();
    } catch (error) {
      if (mine !== generation) return;
      tableSlot.replaceChildren(h('p', { class: 'alert', role: 'alert' }, error instanceof ApiError ? error.message : 'The breakdown could not be read.'));
      setText(status, '');
    } finally {
      if (mine === generation) chart.element.classList.remove('is-loading');
    }
  }

  fillPickers();
  renderFilters();
  const element = h(
    'section',
    { class: 'card', 'aria-labelledby': 'breakdown-title', 'data-testid': 'breakdown' },
    h('div', { class: 'card-head' }, h('h2', { id: 'breakdown-title' }, 'Breakdown'), rangeGroup),
    h('div', { class: 'breakdown-tools' }, field('Break down by', bySelect), field('Measure', measureSelect)),
    filters,
    status,
    body,
  );
  append(body, chart.element, h('div', { class: 'card-foot' }, chart.readout, h('span', { class: 'muted small' }, 'top values · UTC buckets')), tableSlot);
  void load();

  return {
    element,
    get where() {
      return view.where;
    },
    setPipeline(next: PipelineView, reload = false) {
      pipeline = next;
      fillPickers();
      if (reload) void load();
    },
    clearWhere() {
      if (view.where.length) change({ where: [] });
    },
  };
}
