import { WorkGate } from '@dash/domain/browser';
import { ApiError, createPipeline, getPipelines, getSeries, isAdmin, storedToken, type PipelineView } from './api';
import { BucketWindow } from './buckets';
import { append, h, setText } from './dom';
import { pipelineForm, secretPanel } from './forms';
import { formatAgo, formatCount, formatRate } from './format';
import { frame, problemPage, showConnection, tokenGate } from './layout';
import { LiveConnection, type Change } from './live';

const HOUR = 3_600_000;
/** Sparklines (one /series request each) for at most this many cards. */
const MAX_SPARKLINES = 48;
/** Series read at once: spread, a page of 48 cards stays well under the per-token read limit. */
const SPARKLINE_READS_AT_ONCE = 4;

interface Card {
  pipeline: PipelineView;
  count: number;
  lastEventAt: number | null;
  minutes: BucketWindow;
  /** Live deltas were added since the last read of the series. */
  dirty: boolean;
  countEl: HTMLElement;
  rateEl: HTMLElement;
  lastEl: HTMLElement;
  spark: SVGSVGElement;
}

const SVG = 'http://www.w3.org/2000/svg';

function sparkline(): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 120 32');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('aria-hidden', 'true');
  return svg;
}

function drawSparkline(svg: SVGSVGElement, counts: number[]): void {
  const max = Math.max(1, ...counts);
  const step = counts.length > 1 ? 120 / (counts.length - 1) : 120;
  const points = counts.map((count, i) => `${(i * step).toFixed(1)},${(30 - (count / max) * 28).toFixed(1)}`);
  const area = document.createElementNS(SVG, 'path');
  area.setAttribute('d', points.length ? `M0,32 L${points.join(' L')} L120,32 Z` : '');
  area.setAttribute('class', 'spark-area');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points.join(' '));
  line.setAttribute('class', 'spark-line');
  svg.replaceChildren(area, line);
}

export function renderHome(): void {
  const { main, connection } = frame([{ label: 'Pipelines' }]);
  const token = storedToken();
  if (!token) {
    connection.hidden = true;
    tokenGate(main);
    return;
  }
  main.replaceChildren(h('p', { class: 'muted loading' }, 'Loading pipelines…'));
  getPipelines().then(
    ({ items }) => showPipelines(main, connection, token, items),
    (error: unknown) => {
      connection.hidden = true;
      if (error instanceof ApiError && error.status === 401) tokenGate(main, 'That token was not accepted. Paste a valid one.');
      else problemPage(main, 'Dash cannot be reached', `${(error as Error).message} Reload the page to try again.`);
    },
  );
}

function showPipelines(main: HTMLElement, connection: HTMLElement, token: string, items: PipelineView[]): void {
  const totalEl = h('strong', {}, '0');
  const countEl = h('span', {});
  const head = h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Pipelines'), h('p', { class: 'muted' }, countEl, ' · ', totalEl, ' events stored')));
  const grid = h('section', { class: 'grid' });
  const cards: Card[] = [];
  let live: LiveConnection | null = null;
  const empty = h(
    'section',
    { class: 'card empty' },
    h('h2', {}, 'No pipelines yet'),
    h('p', { class: 'muted' }, 'Create one with New pipeline (admin), or with the API; it answers with the pipeline id and its signing secret:'),
    h('pre', { class: 'code', tabindex: '0', 'aria-label': 'Creating a pipeline with curl' }, `curl -X POST ${location.origin}/api/pipelines \\\n  -H "authorization: Bearer $DASH_ADMIN_TOKEN" \\\n  -H "content-type: application/json" \\\n  -d '{"name": "orders", "source": {"type": "webhook"}}'`),
    h('p', { class: 'muted' }, 'A viewer token only lists the pipelines it was made for.'),
  );

  const refreshTotal = () => {
    setText(countEl, `${formatCount(cards.length)} pipeline${cards.length === 1 ? '' : 's'}`);
    setText(totalEl, formatCount(cards.reduce((sum, card) => sum + card.count, 0)));
  };
  const tick = () => {
    const now = Date.now();
    for (const card of cards) {
      if (card.minutes.slide(now)) drawSparkline(card.spark, card.minutes.counts);
      if (card.minutes.starts.length) setText(card.rateEl, formatRate(card.minutes.perMinute(now)));
      if (card.lastEventAt !== null) setText(card.lastEl, `last event ${formatAgo(now - card.lastEventAt)}`);
    }
  };
  const seriesReads = new WorkGate(SPARKLINE_READS_AT_ONCE);
  const loadSparkline = (card: Card) => {
    card.dirty = false;
    seriesReads.run(() => getSeries(card.pipeline.id, '1m', card.minutes.range().from)).then(
      (series) => {
        card.minutes.seed(series);
        drawSparkline(card.spark, card.minutes.counts);
        tick();
      },
      () => undefined,
    );
  };
  const sparklines = () => cards.slice(0, MAX_SPARKLINES);

  /** Shows one pipeline's card and follows it live (the socket opens with the first card). */
  const addCard = (pipeline: PipelineView): void => {
    if (cards.some((card) => card.pipeline.id === pipeline.id)) return;
    const countEl = h('div', { class: 'card-count', 'data-testid': 'count' }, formatCount(pipeline.count));
    const rateEl = h('span', {}, '–');
    const lastEl = h('span', {}, pipeline.lastEventAt ? '' : 'no events yet');
    const spark = sparkline();
    const href = `/pipelines/${encodeURIComponent(pipeline.id)}`;
    append(
      grid,
      h(
        'a',
        { class: 'card pipeline-card', href, 'data-testid': 'pipeline-card', 'data-pipeline-id': pipeline.id },
        h('div', { class: 'card-top' }, h('span', { class: 'card-name' }, pipeline.name), h('span', { class: 'badge' }, pipeline.source.type)),
        countEl,
        h('div', { class: 'card-label muted' }, 'events stored'),
        spark,
        h('div', { class: 'card-meta' }, h('span', {}, h('strong', {}, rateEl), ' / min'), lastEl),
      ),
    );
    const card: Card = { pipeline, count: pipeline.count, lastEventAt: pipeline.lastEventAt ? Date.parse(pipeline.lastEventAt) : null, minutes: new BucketWindow('1m', HOUR), dirty: false, countEl, rateEl, lastEl, spark };
    cards.push(card);
    empty.remove();
    if (!grid.isConnected) creating.after(grid);
    refreshTotal();
    if (cards.length <= MAX_SPARKLINES) loadSparkline(card);
    if (!live) {
      live = new LiveConnection(token);
      connection.hidden = false;
      live.onState((state) => showConnection(connection, state));
    }
    live.watch(pipeline.id, (change: Change) => {
      card.count = change.stats.count;
      if (change.stats.lastEventAt) card.lastEventAt = Date.parse(change.stats.lastEventAt);
      setText(card.countEl, formatCount(change.stats.count));
      if (change.delta > 0 && change.source === 'update' && change.stats.lastEvent && card.minutes.starts.length) {
        card.minutes.add(Date.parse(change.stats.lastEvent.occurredAt), change.delta);
        drawSparkline(card.spark, card.minutes.counts);
      }
      if (change.delta !== 0 || (change.initial && change.stats.count !== card.pipeline.count)) card.dirty = true;
      card.countEl.classList.remove('bump');
      if (change.delta > 0) requestAnimationFrame(() => card.countEl.classList.add('bump'));
      refreshTotal();
      tick();
    });
  };

  // A pipeline made here joins the list at once, while its secret panel is still open.
  const creating = newPipeline(head, addCard);
  main.replaceChildren(head, creating, items.length ? grid : empty);
  if (!items.length) connection.hidden = true;
  items.forEach(addCard);
  refreshTotal();
  // Live deltas approximate (batches, late events); the rollups settle them once a minute.
  setInterval(() => sparklines().filter((card) => card.dirty).forEach(loadSparkline), 60_000);
  setInterval(tick, 1000);
}

/**
 * The admin's New pipeline button (added to `head`) and the slot below it where its form, then
 * the new pipeline's signing secret (shown this once), appear.
 */
function newPipeline(head: HTMLElement, onCreated: (pipeline: PipelineView) => void): HTMLElement {
  const slot = h('div', { class: 'slot', id: 'new-pipeline' });
  const open = h('button', { type: 'button', class: 'btn btn-primary', 'aria-expanded': 'false', 'aria-controls': 'new-pipeline', hidden: true }, 'New pipeline');
  append(head, open);
  void isAdmin().then((admin) => (open.hidden = !admin));
  const close = () => {
    slot.replaceChildren();
    open.setAttribute('aria-expanded', 'false');
    open.focus();
  };
  open.addEventListener('click', () => {
    if (open.getAttribute('aria-expanded') === 'true') return close();
    open.setAttribute('aria-expanded', 'true');
    const form = pipelineForm({
      submitLabel: 'Create pipeline',
      onCancel: close,
      onSubmit: async (input) => {
        const created = await createPipeline(input);
        const href = `/pipelines/${encodeURIComponent(created.id)}`;
        const panel = secretPanel({
          title: `${created.name} is ready: its signing secret`,
          secret: created.signingSecret,
          webhookUrl: `${location.origin}${created.webhookPath}`,
          note: 'Shown this once: copy it now. Senders sign each webhook with it (Standard Webhooks); Rotate secret on the pipeline page makes a new one.',
        });
        append(panel, h('div', { class: 'form-actions' }, h('a', { class: 'btn btn-primary', href }, `Open ${created.name}`), h('a', { class: 'btn btn-ghost', href: '/' }, 'Done')));
        slot.replaceChildren(panel);
        onCreated(created);
        panel.querySelector('h2')?.setAttribute('tabindex', '-1');
        (panel.querySelector('h2') as HTMLElement | null)?.focus();
      },
    });
    slot.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'new-pipeline-title' }, h('h2', { id: 'new-pipeline-title' }, 'New pipeline'), form.element));
    (form.element.querySelector('input[name="name"]') as HTMLInputElement | null)?.focus();
  });
  return slot;
}
