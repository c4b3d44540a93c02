import type { StoredEvent } from '@dash/domain';
import { ApiError, findEvent, getEvents, getPipeline, getSeries, isAdmin, searchEvents, storedToken, type SeriesBucket, type PipelineView } from './api';
import { BucketWindow } from './buckets';
import { EventsChart } from './chart';
import { append, copyButton, field, h, setText } from './dom';
import { alertsSection } from './alerts';
import { breakdownSection } from './breakdown';
import { fieldsSection } from './fields';
import { signingExamples } from './examples';
import { failuresSection, rejectionsSection, settingsSection } from './pipeline-sections';
import { formatAgo, formatCount, formatDuration, formatRate, formatTime, preview } from './format';
import { frame, problemPage, showConnection, tokenGate } from './layout';
import { LiveConnection, type Change } from './live';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Rollups are re-read this often while events flow, to settle what live deltas approximate (late events, batches). */
const RECONCILE_MS = 60_000;
const RECENT_EVENTS = 20;

/** A page of events the reader asked for: by type, by exact id, or older (a stack of `before` cursors). */
interface Browse {
  type: string;
  eventId: string;
  /** `<path>=<value>` payload filters, from the breakdown view. */
  where: string[];
  cursors: Array<string | null>;
  items: StoredEvent[];
  next: string | null;
  /** The search stopped at its work bound before the oldest event: older events may match too. */
  partial: boolean;
}

/** What a page the reader asked for is of: `type order.paid · data.customer=c1 · page 2`. */
function browseLabel(browse: Browse): string {
  if (browse.eventId) return `event id ${browse.eventId}`;
  return [...(browse.type ? [`type ${browse.type}`] : []), ...browse.where, `page ${browse.cursors.length}`].join(' · ');
}

/** The note above the list: never "no events" while the search has older events left to look at. */
function browseNote(browse: Browse): string {
  if (browse.partial) return `${browseLabel(browse)} · older events not searched yet`;
  return browse.items.length ? browseLabel(browse) : `${browseLabel(browse)}: no events`;
}

/** Where a search stopped at its work bound: what was searched, and the way on. */
function searchFurther(browse: Browse, button: HTMLButtonElement): HTMLElement {
  const found = browse.eventId ? `No event with id ${browse.eventId} among the newest events searched so far.` : browse.items.length ? 'More may match among older events.' : 'No match among the newest events searched so far.';
  return h('div', { class: 'search-further', 'data-testid': 'search-further' }, h('p', { class: 'muted' }, `${found} The search stops after a bounded amount of work; older events are not searched yet.`), button);
}

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
  return h(
    'div',
    { class: 'empty-state', 'data-testid': 'empty-state' },
    h('h3', {}, 'No events yet: here is how to send one'),
    h('p', { class: 'muted' }, 'POST a JSON event (or an array, or NDJSON) to the webhook URL, signed per ', h('a', { href: 'https://www.standardwebhooks.com/', rel: 'noreferrer', target: '_blank' }, 'Standard Webhooks'), ' with the signing secret shown when the pipeline was created. It appears here within a second.'),
    h('div', { class: 'url-row' }, h('code', { class: 'url' }, url), copyButton(() => url, 'Copy URL')),
    signingExamples(url),
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
    h(
      'div',
      { class: 'event-body' },
      h('div', { class: 'event-ids muted' }, h('span', {}, 'id ', h('code', {}, event.id)), h('span', {}, 'received ', formatTime(event.receivedAt)), copyButton(() => full, 'Copy payload')),
      h('pre', { class: 'code', tabindex: '0', 'aria-label': `Payload of ${event.id}` }, full),
    ),
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
  Promise.all([getPipeline(id), isAdmin()]).then(
    ([pipeline, admin]) => showPipeline(main, connection, token, pipeline, admin),
    (error: unknown) => {
      connection.hidden = true;
      if (error instanceof ApiError && error.status === 401) tokenGate(main, 'That token was not accepted. Paste a valid one.');
      else if (error instanceof ApiError && error.status === 403) problemPage(main, 'Not shared with this token', 'This token may not read this pipeline. Use a token made for it, or the admin token.');
      else if (error instanceof ApiError && error.status === 404) problemPage(main, 'Pipeline not found', `There is no pipeline ${id}. It may have been deleted.`);
      else problemPage(main, 'Dash cannot be reached', `${(error as Error).message} Reload the page to try again.`);
    },
  );
}

function showPipeline(main: HTMLElement, connection: HTMLElement, token: string, pipeline: PipelineView, admin: boolean): void {
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
  const segmented = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Chart range' });
  for (const option of RANGES) {
    const button = h('button', { type: 'button', class: 'segment', 'data-bucket': option.bucket, 'aria-pressed': String(option === range) }, option.label);
    button.addEventListener('click', () => {
      if (option === range) return;
      range = option;
      for (const other of segmented.children) other.setAttribute('aria-pressed', String(other === button));
      window = new BucketWindow(range.bucket, range.spanMs);
      void loadSeries(true);
    });
    append(segmented, button);
  }

  // Events: live newest-first list, or a filtered / searched / older page the reader asked for.
  const eventsList = h('div', { class: 'events', 'data-testid': 'events' });
  const eventsNote = h('p', { class: 'muted small', role: 'status', 'aria-live': 'polite' }, 'newest first · open one for its payload');
  const typeInput = h('input', { type: 'search', name: 'type', placeholder: 'order.created', autocomplete: 'off', spellcheck: 'false', maxlength: '500' });
  const idInput = h('input', { type: 'search', name: 'eventId', placeholder: 'msg_…', autocomplete: 'off', spellcheck: 'false', maxlength: '500' });
  const filterForm = h('form', { class: 'inline-form', role: 'search', 'aria-label': 'Filter events by type' }, field('Type', typeInput), h('button', { type: 'submit', class: 'btn btn-small' }, 'Filter'));
  const searchForm = h('form', { class: 'inline-form', role: 'search', 'aria-label': 'Find an event by id' }, field('Event id', idInput), h('button', { type: 'submit', class: 'btn btn-small' }, 'Find'));
  const showAll = h('button', { type: 'button', class: 'btn btn-ghost btn-small', hidden: true }, 'Show all');
  const newer = h('button', { type: 'button', class: 'btn btn-small', disabled: true }, 'Newer');
  const older = h('button', { type: 'button', class: 'btn btn-small', disabled: true }, 'Older');
  const further = h('button', { type: 'button', class: 'btn btn-small' }, 'Search further back');
  const eventsCard = h(
    'section',
    { class: 'card', 'aria-labelledby': 'events-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'events-title' }, 'Events'), eventsNote),
    h('div', { class: 'events-tools' }, filterForm, searchForm, showAll),
    eventsList,
    h('div', { class: 'pager' }, newer, older),
  );

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
  const title = main.querySelector('h1');
  const live = new LiveConnection(token);
  // The breakdown view's filters also filter the events list (see browseTo).
  const breakdown = breakdownSection(pipeline, live, (where) => void browseTo({ type: '', eventId: '', where, cursors: [null] }));
  const fields = fieldsSection(pipeline, admin, (saved, backfilled) => breakdown.setPipeline(saved, backfilled));
  eventsCard.before(breakdown.element);
  append(main, fields.element);
  append(main, failuresSection(pipeline, admin, live), rejectionsSection(pipeline, live), alertsSection(pipeline.id, admin, live));
  if (admin)
    append(
      main,
      settingsSection(pipeline, (saved) => {
        // The heading and the title follow a rename at once; the rest of the page is unchanged.
        if (title?.firstChild) title.firstChild.textContent = saved.name;
        document.title = `${saved.name} · Dash`;
        const crumb = document.querySelector('.crumb-current');
        if (crumb) crumb.textContent = saved.name;
      }),
    );

  const figure = live.figure(pipeline.id);
  let count = pipeline.count;
  let lastEventAt = pipeline.lastEventAt ? Date.parse(pipeline.lastEventAt) : null;
  let lastType: string | null = null;
  let shown: StoredEvent[] = [];
  /** Where the live list continues (the cursor of the page after the newest). */
  let liveNext: string | null = null;
  /** A filtered, searched or older page; null while the list follows live updates. */
  let browse: Browse | null = null;
  let browseGeneration = 0;
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
    showAll.hidden = browse === null || (!browse.type && !browse.eventId && !browse.where.length);
    newer.disabled = browse === null || browse.cursors.length <= 1;
    older.disabled = browse === null ? liveNext === null : browse.next === null;
    if (browse) {
      setText(eventsNote, browseNote(browse));
      const rows = browse.items.map(eventRow);
      // Searching on from the button keeps the keyboard there while the search goes on.
      const refocus = document.activeElement === further;
      if (browse.partial) eventsList.replaceChildren(...rows, searchFurther(browse, further));
      else eventsList.replaceChildren(...(rows.length ? rows : [h('p', { class: 'muted' }, browse.eventId ? `No event with id ${browse.eventId} in this pipeline.` : 'No events here.')]));
      if (refocus && further.isConnected) further.focus();
      return;
    }
    setText(eventsNote, 'newest first · open one for its payload');
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
            liveNext = page.next;
            renderEvents();
          },
          () => undefined,
        );
      },
      Math.max(0, eventsLoadedAt + 2000 - Date.now()),
    );
  }

  async function browseTo(target: Omit<Browse, 'items' | 'next' | 'partial'>): Promise<void> {
    const generation = ++browseGeneration;
    setText(eventsNote, target.type || target.eventId || target.where.length ? 'Searching…' : 'Loading…');
    try {
      const before = target.cursors[target.cursors.length - 1] ?? undefined;
      // A search the reader has left (another filter, Show all) stops following the server's partial answers.
      const wanted = () => generation === browseGeneration;
      const { items, next, partial } = target.eventId
        ? await findEvent(pipeline.id, target.eventId, before, wanted)
        : await searchEvents(pipeline.id, RECENT_EVENTS, { before, type: target.type || undefined, where: target.where }, wanted);
      if (!wanted()) return;
      // Back on the first unfiltered page: follow live updates again.
      browse = !target.type && !target.eventId && !target.where.length && target.cursors.length <= 1 ? null : { ...target, items, next, partial };
      if (!browse) {
        shown = items;
        liveNext = next;
      }
      renderEvents();
    } catch (error) {
      if (generation === browseGeneration) setText(eventsNote, error instanceof ApiError ? error.message : 'The events could not be read.');
    }
  }

  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    idInput.value = '';
    void browseTo({ type: typeInput.value.trim(), eventId: '', where: breakdown.where, cursors: [null] });
  });
  searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const eventId = idInput.value.trim();
    if (eventId) void browseTo({ type: '', eventId, where: [], cursors: [null] });
  });
  showAll.addEventListener('click', () => {
    typeInput.value = '';
    idInput.value = '';
    breakdown.clearWhere();
    void browseTo({ type: '', eventId: '', where: [], cursors: [null] });
  });
  function browseOlder(): void {
    const from = browse ?? { type: '', eventId: '', where: [], cursors: [null], next: liveNext };
    if (from.next) void browseTo({ type: from.type, eventId: from.eventId, where: from.where, cursors: [...from.cursors, from.next] });
  }
  older.addEventListener('click', browseOlder);
  // The next page of a stopped search starts where it stopped, as Older does.
  further.addEventListener('click', browseOlder);
  newer.addEventListener('click', () => {
    if (browse && browse.cursors.length > 1) void browseTo({ type: browse.type, eventId: browse.eventId, where: browse.where, cursors: browse.cursors.slice(0, -1) });
  });

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
  // Opened on a filtered view (a shared link): the events list starts filtered too.
  if (breakdown.where.length) void browseTo({ type: '', eventId: '', where: breakdown.where, cursors: [null] });
  else loadEvents();
  renderEvents();
  setInterval(tick, 1000);
  setInterval(() => {
    if (dirty) void loadSeries();
  }, RECONCILE_MS);
}
