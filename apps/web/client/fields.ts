import { ApiError, getFields, getPipeline, updatePipeline, type FieldView, type PipelineView } from './api';
import { append, button, h, statusLine } from './dom';
import { formatAgo, formatCount } from './format';

/** Dimensions, and as many measures, a pipeline may declare (besides `type`). */
const MAX_DECLARED = 8;
/** Paths listed before a "Show all" (the catalog keeps up to 500). */
const FIRST_PATHS = 50;
/** While a backfill runs, its progress is re-read this often. */
const BACKFILL_POLL_MS = 2000;

const messageOf = (error: unknown) => (error instanceof ApiError ? `${error.message} (${error.code})` : (error as Error).message);

export interface FieldsSection {
  element: HTMLElement;
  setPipeline(pipeline: PipelineView): void;
}

/**
 * The payload paths Dash has seen (sampled), with their types, share, examples and last sighting.
 * An admin turns one into a dimension or a measure with one click (PATCH the pipeline); a viewer
 * sees the list only.
 */
export function fieldsSection(initial: PipelineView, admin: boolean, onChanged: (pipeline: PipelineView, backfilled: boolean) => void): FieldsSection {
  let pipeline = initial;
  let items: FieldView[] = [];
  let showAll = false;
  const list = h('div', { class: 'rows fields-list', 'data-testid': 'fields-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const result = statusLine();
  const declared = h('p', { class: 'muted small', 'data-testid': 'declared' });
  const backfill = h('p', { class: 'small', role: 'status', 'aria-live': 'polite', 'data-testid': 'backfill' });
  let backfillTimer: ReturnType<typeof setTimeout> | null = null;

  /** Shows the backfill's progress and, while it runs, reads it again; its end refreshes the breakdown. */
  function showBackfill(): void {
    const progress = pipeline.backfill;
    backfill.hidden = !progress;
    if (!progress) return;
    const paths = [...progress.dimensions, ...progress.measures].join(', ');
    const share = progress.total > 0 ? ` (${Math.min(100, Math.floor((progress.done / progress.total) * 100))}%)` : '';
    backfill.dataset.state = progress.state;
    backfill.textContent =
      progress.state === 'running' ? `Counting the events already stored for ${paths}: ${formatCount(progress.done)} of about ${formatCount(progress.total)}${share}.` : `The events already stored are counted for ${paths} (${formatCount(progress.done)} events).`;
    if (progress.state !== 'running' || backfillTimer) return;
    backfillTimer = setTimeout(() => {
      backfillTimer = null;
      getPipeline(pipeline.id).then(
        (next) => {
          const finished = next.backfill?.state !== 'running';
          pipeline = next;
          showBackfill();
          if (finished) onChanged(next, true);
        },
        () => showBackfill(),
      );
    }, BACKFILL_POLL_MS);
  }

  function describeDeclared(): void {
    const dimensions = pipeline.dimensions.filter((path) => path !== 'type');
    declared.replaceChildren(
      'Dimensions: ',
      h('code', {}, 'type'),
      ...dimensions.flatMap((path) => [', ', h('code', {}, path)]),
      pipeline.measures.length ? ' · Measures: ' : ' · No measures yet.',
      ...pipeline.measures.flatMap((path, index) => [index ? ', ' : '', h('code', {}, path)]),
    );
  }

  async function declare(kind: 'dimensions' | 'measures', path: string): Promise<void> {
    result.textContent = 'Saving…';
    try {
      const current = kind === 'dimensions' ? pipeline.dimensions.filter((item) => item !== 'type') : pipeline.measures;
      pipeline = await updatePipeline(pipeline.id, { [kind]: [...current, path] });
      result.textContent = `${path} is now a ${kind === 'dimensions' ? 'dimension' : 'measure'}.`;
      describeDeclared();
      render();
      onChanged(pipeline, false);
      // The PATCH answer may predate the backfill job: read the pipeline again for its progress.
      pipeline = await getPipeline(pipeline.id);
      showBackfill();
    } catch (error) {
      result.textContent = `Not saved: ${messageOf(error)}`;
    }
  }

  function row(item: FieldView, index: number): HTMLElement {
    const pathId = `field-path-${index}`;
    const isDimension = item.path === 'type' || pipeline.dimensions.includes(item.path);
    const isMeasure = pipeline.measures.includes(item.path);
    const actions = h('div', { class: 'field-actions' });
    if (isDimension) append(actions, h('span', { class: 'badge badge-type' }, 'dimension'));
    if (isMeasure) append(actions, h('span', { class: 'badge badge-type' }, 'measure'));
    if (admin) {
      const scalar = item.types.some((type) => type === 'string' || type === 'number' || type === 'boolean');
      if (!isDimension && scalar) {
        const add = button('Add as dimension', () => void declare('dimensions', item.path), 'btn btn-small');
        add.disabled = pipeline.dimensions.filter((path) => path !== 'type').length >= MAX_DECLARED;
        add.setAttribute('aria-describedby', pathId);
        append(actions, add);
      }
      if (!isMeasure && item.types.includes('number')) {
        const add = button('Add as measure', () => void declare('measures', item.path), 'btn btn-small');
        add.disabled = pipeline.measures.length >= MAX_DECLARED;
        add.setAttribute('aria-describedby', pathId);
        append(actions, add);
      }
    }
    return h(
      'div',
      { class: 'row field-row', 'data-path': item.path },
      h('div', { class: 'row-main' }, h('code', { id: pathId, class: 'field-path' }, item.path), ...item.types.map((type) => h('span', { class: 'badge' }, type)), h('span', { class: 'muted small' }, `in ${Math.round(item.share * 100)}% of events`)),
      item.examples.length ? h('div', { class: 'muted small field-examples' }, 'e.g. ', ...item.examples.flatMap((example, at) => [at ? ', ' : '', h('code', {}, JSON.stringify(example))])) : null,
      h('div', { class: 'field-foot' }, h('span', { class: 'muted small' }, h('time', { datetime: item.lastSeenAt, title: `first seen ${item.firstSeenAt}` }, `last seen ${formatAgo(Date.now() - Date.parse(item.lastSeenAt))}`)), actions),
    );
  }

  function render(): void {
    if (!items.length) {
      list.replaceChildren(h('p', { class: 'muted' }, 'No payload seen yet: paths appear here once events arrive.'));
      return;
    }
    const shown = showAll ? items : items.slice(0, FIRST_PATHS);
    list.replaceChildren(...shown.map(row));
    if (shown.length < items.length)
      append(
        list,
        button(
          `Show all ${items.length} paths`,
          () => {
            showAll = true;
            render();
          },
          'btn btn-ghost btn-small',
        ),
      );
  }

  const load = () =>
    getFields(pipeline.id).then(
      (answer) => {
        items = answer.items;
        render();
      },
      (error: unknown) => list.replaceChildren(h('p', { class: 'alert' }, messageOf(error))),
    );

  describeDeclared();
  showBackfill();
  void load();
  const element = h(
    'section',
    { class: 'card', 'aria-labelledby': 'fields', 'data-testid': 'fields' },
    h('div', { class: 'card-head' }, h('h2', { id: 'fields' }, 'Fields'), h('div', { class: 'card-tools' }, button('Refresh', () => void load(), 'btn btn-ghost btn-small'))),
    h('p', { class: 'muted small' }, admin ? 'Payload paths seen in sampled events. Add one as a dimension to break events down by it, or a number as a measure to sum it.' : 'Payload paths seen in sampled events.'),
    declared,
    backfill,
    list,
    result,
  );
  return {
    element,
    setPipeline(next: PipelineView) {
      pipeline = next;
      describeDeclared();
      render();
    },
  };
}
