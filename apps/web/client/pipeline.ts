import type { PipelineView, SeriesBucket, StoredEvent } from '@dash/domain';
import { mountAlerts } from './alerts';
import { ApiError, getEvents, getPipeline, getSeries, storedToken } from './api';
import { BucketWindow } from './buckets';
import { EventsChart } from './chart';
import { append, copyButton, h, setText } from './dom';
import { formatAgo, formatCount, formatDuration, formatRate, formatTime, preview } from './format';
import { frame, problemPage, showConnection, tokenGate } from './layout';
import { LiveConnection, type Change } from './live';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Rollups are re-read this often while events flow, to settle what live deltas approximate (late events, batches). */
const RECONCILE_MS = 60_000;
const RECENT_EVENTS = 20;

interface Range {
  label: string;
  bucket: SeriesBucket;
  spanMs: number;
}

const RANGES: Range[] = [
  { label: '1 h · 1 min', bucket: '1m', spanMs: HOUR },
  { label: '24 h · 5 min', bucket: '5m', spanMs: DAY },
  { label: '24 h · 1 h', bucket: '1h', spanMs: DAY },
];

function tile(label: string, value: HTMLElement, sub: HTMLElement): HTMLElement {
  return h('div', { class: 'tile' }, h('div', { class: 'tile-label' }, label), value, sub);
}

function sendExamples(url: string): HTMLElement {
  const curl = `URL="${url}"
SECRET="whsec_…"   # the pipeline's signing secret
ID="msg_$(date +%s%N)"; TS=$(date +%s)
BODY='{"type": "order.created", "total": 42}'
KEY=$(printf '%s' "\${SECRET#whsec_}" | base64 -d | od -An -tx1 | tr -d ' \\n')
SIG=$(printf '%s' "$ID.$TS.$BODY" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY" -binary | base64)
curl "$URL" -H "content-type: application/json" \\
  -H "webhook-id: $ID" -H "webhook-timestamp: $TS" \\
  -H "webhook-signature: v1,$SIG" -d "$BODY"`;
  const node = `// npm i standardwebhooks
import { Webhook } from 'standardwebhooks';

const body = JSON.stringify({ type: 'order.created', total: 42 });
const id = \`msg_\${Date.now()}\`;
const now = new Date();
const signature = new Webhook(process.env.SECRET).sign(id, now, body);
await fetch('${url}', {
  method: 'POST',
  body,
  headers: {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signature,
  },
});`;
  const code = h('pre', { class: 'code' }, curl);
  const tabs = h('div', { class: 'segmented', role: 'tablist' });
  let current = curl;
  for (const [label, text] of [
    ['curl', curl],
    ['Node.js', node],
  ] as const) {
    const tab = h('button', { type: 'button', role: 'tab', class: 'segment', 'aria-selected': String(text === curl) }, label);
    tab.addEventListener('click', () => {
      current = text;
      code.textContent = text;
      for (const other of tabs.children) other.setAttribute('aria-selected', String(other === tab));
    });
    append(tabs, tab);
  }
  return h(
    'div',
    { class: 'empty-state', 'data-testid': 'empty-state' },
    h('h3', {}, 'No events yet: here is how to send one'),
    h('p', { class: 'muted' }, 'POST a JSON event (or an array, or NDJSON) to the webhook URL, signed per ', h('a', { href: 'https://www.standardwebhooks.com/', rel: 'noreferrer', target: '_blank' }, 'Standard Webhooks'), ' with the signing secret shown when the pipeline was created. It appears here within a second.'),
    h('div', { class: 'url-row' }, h('code', { class: 'url' }, url), copyButton(() => url, 'Copy URL')),
    h('div', { class: 'code-head' }, tabs, copyButton(() => current)),
    code,
  );
}

function eventRow(event: StoredEvent): HTMLDetailsElement {
  const full = JSON.stringify(event.payload, null, 2) ?? 'null';
  const details = h(
    'details',
    { class: 'event', 'data-event-id': event.id },
    h(
      'summary',
      {},
      h('time', { class: 'event-time', datetime: event.occurredAt, title: `occurred ${event.occurredAt}\nreceived ${event.receivedAt}` }, formatTime(event.occurredAt)),
      h('span', { class: event.type ? 'badge badge-type' : 'badge badge-none' }, event.type ?? 'no type'),
      h('code', { class: 'event-preview' }, preview(event.payload)),
    ),
    h('div', { class: 'event-body' }, h('div', { class: 'event-ids muted' }, h('span', {}, 'id ', h('code', {}, event.id)), h('span', {}, 'received ', formatTime(event.receivedAt))), h('pre', { class: 'code' }, full)),
  );
  return details;
}

export function renderPipeline(id: string): void {
  const { main, connection } = frame([{ label: 'Pipelines', href: '/' }, { label: '…' }]);
  const token = storedToken();
  if (!token) {
    connection.hidden = true;
    tokenGate(main);
    return;
  }
  main.replaceChildren(h('p', { class: 'muted loading' }, 'Loading pipeline…'));
  getPipeline(id).then(
    (pipeline) => showPipeline(main, connection, token, pipeline),
    (error: unknown) => {
      connection.hidden = true;
      if (error instanceof ApiError && error.status === 401) tokenGate(main, 'That token was not accepted. Paste a valid one.');
      else if (error instanceof ApiError && error.status === 403) problemPage(main, 'Not shared with this token', 'This token may not read this pipeline. Use a token made for it, or the admin token.');
      else if (error instanceof ApiError && error.status === 404) problemPage(main, 'Pipeline not found', `There is no pipeline ${id}. It may have been deleted.`);
      else problemPage(main, 'Dash cannot be reached', `${(error as Error).message} Reload the page to try again.`);
    },
  );
}

function showPipeline(main: HTMLElement, connection: HTMLElement, token: string, pipeline: PipelineView): void {
  document.title = `${pipeline.name} · Dash`;
  const crumb = document.querySelector('.crumb-current');
  if (crumb) crumb.textContent = pipeline.name;
  const webhookUrl = `${location.origin}${pipeline.webhookPath}`;

  // Figures
  const countEl = h('div', { class: 'tile-value', 'data-testid': 'count' }, formatCount(pipeline.count));
  const countSub = h('div', { class: 'tile-sub muted' }, 'exact, deduplicated');
  const rateEl = h('div', { class: 'tile-value', 'data-testid': 'rate' }, '–');
  const rateSub = h('div', { class: 'tile-sub muted' }, 'events per minute');
  const lastEl = h('div', { class: 'tile-value tile-value-small' }, pipeline.lastEventAt ? '' : 'never');
  const lastSub = h('div', { class: 'tile-sub muted' }, '');
  const freshEl = h('div', { class: 'tile-value tile-value-small', 'data-testid': 'freshness' }, '–');
  const freshSub = h('div', { class: 'tile-sub muted', 'data-testid': 'lag' }, 'intake → storage: –');

  // Chart
  const chart = new EventsChart();
  let range = RANGES[0];
  let window = new BucketWindow(range.bucket, range.spanMs);
  const minutes = new BucketWindow('1m', 10 * MINUTE);
  const segmented = h('div', { class: 'segmented', role: 'tablist', 'aria-label': 'Chart range' });
  for (const option of RANGES) {
    const button = h('button', { type: 'button', role: 'tab', class: 'segment', 'data-bucket': option.bucket, 'aria-selected': String(option === range) }, option.label);
    button.addEventListener('click', () => {
      if (option === range) return;
      range = option;
      for (const other of segmented.children) other.setAttribute('aria-selected', String(other === button));
      window = new BucketWindow(range.bucket, range.spanMs);
      void loadSeries(true);
    });
    append(segmented, button);
  }

  // Recent events
  const eventsList = h('div', { class: 'events', 'data-testid': 'events' });
  const eventsCard = h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Recent events'), h('span', { class: 'muted small' }, 'newest first · click one for its payload')), eventsList);

  main.replaceChildren(
    h(
      'section',
      { class: 'page-head' },
      h('div', {}, h('h1', {}, pipeline.name, ' ', h('span', { class: 'badge' }, pipeline.source.type)), h('p', { class: 'muted mono small' }, pipeline.id)),
      h('div', { class: 'url-row compact' }, h('code', { class: 'url' }, webhookUrl), copyButton(() => webhookUrl, 'Copy URL')),
    ),
    h('section', { class: 'tiles' }, tile('Events stored', countEl, countSub), tile('Rate', rateEl, rateSub), tile('Last event', lastEl, lastSub), tile('Freshness', freshEl, freshSub)),
    h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Events over time'), segmented), chart.element, h('div', { class: 'card-foot' }, chart.readoutElement, h('span', { class: 'muted small' }, 'by event time · UTC buckets'))),
    eventsCard,
  );

  const live = new LiveConnection(token);
  mountAlerts(main, pipeline.id, live);
  const figure = live.figure(pipeline.id);
  let count = pipeline.count;
  let lastEventAt = pipeline.lastEventAt ? Date.parse(pipeline.lastEventAt) : null;
  let lastType: string | null = null;
  let shown: StoredEvent[] = [];
  let seriesGeneration = 0;
  let dirty = false;

  async function loadSeries(showLoading = false): Promise<void> {
    const generation = ++seriesGeneration;
    const target = window;
    if (showLoading) chart.element.classList.add('is-loading');
    try {
      const [series, recent] = await Promise.all([getSeries(pipeline.id, target.bucket, target.range().from), getSeries(pipeline.id, '1m', minutes.range().from)]);
      if (generation !== seriesGeneration) return;
      target.seed(series);
      minutes.seed(recent);
      dirty = false;
      chart.show(target);
      tick();
    } catch {
      // The live figures keep going; the next reconcile tries again.
    } finally {
      if (generation === seriesGeneration) chart.element.classList.remove('is-loading');
    }
  }

  function renderEvents(): void {
    if (count === 0 && shown.length === 0) {
      if (!eventsList.querySelector('[data-testid="empty-state"]')) eventsList.replaceChildren(sendExamples(webhookUrl));
      return;
    }
    const open = new Set([...eventsList.querySelectorAll('details[open]')].map((element) => element.getAttribute('data-event-id')));
    eventsList.replaceChildren(
      ...shown.map((event) => {
        const row = eventRow(event);
        if (open.has(event.id)) row.open = true;
        return row;
      }),
    );
  }

  let eventsTimer: ReturnType<typeof setTimeout> | null = null;
  let eventsLoadedAt = 0;
  function loadEvents(): void {
    if (eventsTimer) return;
    // At most one read of recent events every 2 s, however fast updates come.
    eventsTimer = setTimeout(
      () => {
        eventsTimer = null;
        eventsLoadedAt = Date.now();
        getEvents(pipeline.id, RECENT_EVENTS).then(
          (page) => {
            shown = page.items;
            renderEvents();
          },
          () => undefined,
        );
      },
      Math.max(0, eventsLoadedAt + 2000 - Date.now()),
    );
  }

  function tick(): void {
    const now = Date.now();
    if (window.slide(now)) chart.render();
    setText(rateEl, minutes.starts.length ? formatRate(minutes.perMinute(now)) : '–');
    if (lastEventAt !== null) {
      setText(lastEl, formatAgo(now - lastEventAt));
      setText(lastSub, lastType ? `type ${lastType}` : 'received by intake');
    }
    const stale = live.state !== 'live';
    freshEl.classList.toggle('warn', stale && figure.confirmedAt > 0);
    if (figure.confirmedAt === 0) setText(freshEl, '–');
    else setText(freshEl, stale ? `stale · ${formatAgo(now - figure.confirmedAt)}` : `updated ${formatAgo(now - figure.confirmedAt)}`);
    if (figure.lagMs !== null) setText(freshSub, `intake → storage: ${formatDuration(figure.lagMs)}`);
  }

  live.onState((state) => {
    showConnection(connection, state);
    tick();
  });
  live.watch(pipeline.id, (change: Change) => {
    const { stats } = change;
    count = stats.count;
    setText(countEl, formatCount(stats.count));
    if (stats.lastEventAt) lastEventAt = Date.parse(stats.lastEventAt);
    lastType = stats.lastEvent?.type ?? lastType;
    if (change.source === 'update' && change.delta > 0 && stats.lastEvent) {
      // The chart's current bucket moves with the update; the reconcile settles the rest.
      const at = Date.parse(stats.lastEvent.occurredAt);
      if (window.add(at, change.delta)) chart.render();
      minutes.add(at, change.delta);
      dirty = true;
      if (!shown.some((event) => event.id === stats.lastEvent?.id)) {
        shown = [stats.lastEvent, ...shown].slice(0, RECENT_EVENTS);
        renderEvents();
      }
      loadEvents();
      countEl.classList.remove('bump');
      requestAnimationFrame(() => countEl.classList.add('bump'));
    } else if (change.source === 'snapshot' && (change.initial ? stats.count !== pipeline.count : change.delta !== 0)) {
      // Events we did not see (while loading, or while disconnected): read the rollups again.
      void loadSeries();
      loadEvents();
    }
    tick();
  });

  void loadSeries(true);
  loadEvents();
  renderEvents();
  setInterval(tick, 1000);
  setInterval(() => {
    if (dirty) void loadSeries();
  }, RECONCILE_MS);
}
