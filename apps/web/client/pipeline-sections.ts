import { ApiError, deletePipeline, discardFailure, getFailures, getRejections, replayFailures, rotateSecret, updatePipeline, type FailureView, type PipelineView, type Rejection } from './api';
import { askFirst } from './confirm';
import { append, button, h, statusLine } from './dom';
import { pipelineForm, secretPanel } from './forms';
import { formatCount, formatTime, preview } from './format';
import type { LiveConnection } from './live';

const messageOf = (error: unknown) => (error instanceof ApiError ? `${error.message} (${error.code})` : (error as Error).message);

function sectionCard(title: string, id: string, ...children: Array<Node | null>): HTMLElement {
  return h('section', { class: 'card', 'aria-labelledby': id, 'data-testid': id }, h('div', { class: 'card-head' }, h('h2', { id }, title), ...children.slice(0, 1)), ...children.slice(1));
}

/** Lists the server may announce changes of: what `onListChanged` needs. */
type ListNotices = Pick<LiveConnection, 'onListChanged'>;

/** Runs `load` now, or once more right after the running one ends: notices never overlap reads. */
function reloader(load: () => Promise<unknown>): () => void {
  let running = false;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    void load().finally(() => {
      running = false;
      if (again) {
        again = false;
        run();
      }
    });
  };
  return run;
}

/** Events the database refused, with their reasons; the admin replays them or discards one. Live. */
export function failuresSection(pipeline: PipelineView, admin: boolean, live: ListNotices): HTMLElement {
  const list = h('div', { class: 'rows' }, h('p', { class: 'muted' }, 'Loading…'));
  const result = statusLine();
  const replay = admin ? button('Replay', () => void run(), 'btn btn-small') : null;
  const load = () =>
    getFailures(pipeline.id).then(
      ({ items, total }) => {
        if (replay) replay.disabled = total === 0;
        // A question still open about a failure stays open while the list is read again.
        const asking = new Map([...list.querySelectorAll<HTMLElement>('[data-failure-id]')].filter((row) => row.querySelector('[role="alertdialog"]')).map((row) => [row.dataset.failureId, row]));
        list.replaceChildren(...(items.length ? items.map((failure) => asking.get(failure.id) ?? failureRow(failure, admin ? discard : null)) : [h('p', { class: 'muted' }, 'None: every event was stored.')]));
        if (total > items.length) append(list, h('p', { class: 'muted small' }, `and ${formatCount(total - items.length)} more`));
      },
      (error: unknown) => list.replaceChildren(h('p', { class: 'alert' }, messageOf(error))),
    );
  const reload = reloader(load);
  async function discard(failure: FailureView): Promise<void> {
    await discardFailure(pipeline.id, failure.id);
    result.textContent = `Discarded ${failure.id}.`;
    reload();
  }
  async function run(): Promise<void> {
    if (!replay) return;
    replay.disabled = true;
    result.textContent = 'Replaying…';
    try {
      const outcome = await replayFailures(pipeline.id);
      result.textContent = `Replayed ${outcome.replayed}: ${outcome.stored} stored, ${outcome.failed} failed again${outcome.pending ? `, ${outcome.pending} still pending` : ''}.`;
    } catch (error) {
      result.textContent = `Replay failed: ${messageOf(error)}`;
    }
    reload();
  }
  reload();
  live.onListChanged('failures', pipeline.id, reload);
  return sectionCard(
    'Failures',
    'failures',
    h('div', { class: 'card-tools' }, button('Refresh', reload, 'btn btn-ghost btn-small'), replay),
    h('p', { class: 'muted small' }, admin ? 'Events that could not be stored, with the reason. Replay sends them through again; Discard removes one for good.' : 'Events that could not be stored, with the reason.'),
    list,
    result,
  );
}

function failureRow(failure: FailureView, discard: ((failure: FailureView) => Promise<void>) | null): HTMLElement {
  const confirmSlot = h('div', {});
  const discardButton = discard
    ? button(
        'Discard',
        () =>
          askFirst({
            trigger: discardButton as HTMLButtonElement,
            slot: confirmSlot,
            title: `Discard the failed event ${failure.id}?`,
            detail: 'It leaves this list for good and is never replayed. The event itself was never stored.',
            yes: 'Yes, discard',
            action: () => discard(failure),
          }),
        'btn btn-danger-ghost btn-small',
      )
    : null;
  discardButton?.setAttribute('aria-expanded', 'false');
  return h(
    'div',
    { class: 'row', 'data-failure-id': failure.id },
    h('div', { class: 'row-main' }, h('code', {}, failure.id), failure.event?.type ? h('span', { class: 'badge badge-type' }, failure.event.type) : null, discardButton),
    h('div', { class: 'row-reason' }, failure.reason),
    h('div', { class: 'muted small row-meta' }, h('time', { datetime: failure.failedAt }, formatTime(failure.failedAt)), ` · ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'}`, failure.event ? ` · ${preview(failure.event.payload, 80)}` : ''),
    confirmSlot,
  );
}

/** The last deliveries refused with a 4xx: how a sender debugs its signature. Live. */
export function rejectionsSection(pipeline: PipelineView, live: ListNotices): HTMLElement {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const load = () =>
    getRejections(pipeline.id).then(
      ({ items }) => body.replaceChildren(items.length ? rejectionsTable(items) : h('p', { class: 'muted' }, 'None: no delivery was refused lately.')),
      (error: unknown) => body.replaceChildren(h('p', { class: 'muted' }, error instanceof ApiError && error.status === 404 && error.code !== 'pipeline_not_found' ? 'This server does not keep rejected deliveries.' : messageOf(error))),
    );
  const reload = reloader(load);
  reload();
  live.onListChanged('rejections', pipeline.id, reload);
  return sectionCard('Rejected deliveries', 'rejections', h('div', { class: 'card-tools' }, button('Refresh', reload, 'btn btn-ghost btn-small')), h('p', { class: 'muted small' }, 'The last 100 webhooks refused with a 4xx, newest first, with what the sender was told (never their bodies).'), body);
}

function rejectionsTable(items: Rejection[]): HTMLElement {
  // Wide on a phone: the table scrolls inside its own box, never the page.
  return h(
    'div',
    { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Rejected deliveries' },
    h(
      'table',
      { class: 'table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Error'), h('th', { scope: 'col' }, 'Webhook id'))),
      h(
        'tbody',
        {},
        ...items.map((item) =>
          h(
            'tr',
            {},
            h('td', { class: 'nowrap' }, h('time', { datetime: item.at }, formatTime(item.at))),
            h('td', {}, String(item.status)),
            h('td', { class: 'rejection-error' }, h('code', {}, item.error), item.message ? h('div', { class: 'rejection-message' }, item.message) : null),
            h('td', { class: 'break' }, item.webhookId ? h('code', {}, item.webhookId) : h('span', { class: 'muted' }, 'none')),
          ),
        ),
      ),
    ),
  );
}

/** Admin only: edit, Rotate secret (the old one keeps working 24 hours) and Delete, both asked first. */
export function settingsSection(pipeline: PipelineView, onSaved: (saved: PipelineView) => void): HTMLElement {
  let name = pipeline.name;
  const saved = statusLine();
  const form = pipelineForm({
    submitLabel: 'Save changes',
    initial: pipeline,
    onSubmit: async (input) => {
      const updated = await updatePipeline(pipeline.id, input);
      // The questions below name the pipeline as it is now.
      name = updated.name;
      saved.textContent = `Saved at ${formatTime(updated.updatedAt ?? new Date().toISOString())}.`;
      onSaved(updated);
    },
  });

  const secretSlot = h('div', {});
  const rotate: HTMLButtonElement = button(
    'Rotate secret',
    () =>
      askFirst({
        trigger: rotate,
        slot: secretSlot,
        title: `Rotate the signing secret of ${name}?`,
        detail: 'A new secret is made and shown once. The current one keeps working for 24 hours; senders still signing with it after that are refused.',
        yes: 'Yes, rotate secret',
        action: async () => {
          const { signingSecret } = await rotateSecret(pipeline.id);
          // The new secret takes the question's place.
          return secretPanel({ title: 'New signing secret', secret: signingSecret, webhookUrl: `${location.origin}${pipeline.webhookPath}`, note: 'Shown this once: copy it now. The previous secret keeps working for 24 hours, so senders can switch without losing a webhook.' });
        },
      }),
    'btn',
  );
  rotate.setAttribute('aria-expanded', 'false');

  const confirmSlot = h('div', {});
  const remove: HTMLButtonElement = button(
    'Delete pipeline',
    () =>
      askFirst({
        trigger: remove,
        slot: confirmSlot,
        title: `Delete ${name}?`,
        detail: 'Its events, counts, failures and alerts go too, and its webhook URL stops accepting events. This cannot be undone.',
        yes: `Yes, delete ${name}`,
        action: async () => {
          await deletePipeline(pipeline.id);
          location.assign('/');
        },
      }),
    'btn btn-danger-ghost',
  );
  remove.setAttribute('aria-expanded', 'false');

  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'settings', 'data-testid': 'settings' },
    h('div', { class: 'card-head' }, h('h2', { id: 'settings' }, 'Settings')),
    form.element,
    saved,
    h('h3', { class: 'sub-head' }, 'Signing secret'),
    h('p', { class: 'muted small' }, 'Rotating makes a new secret at once; the previous one keeps working for 24 hours.'),
    h('div', { class: 'form-actions' }, rotate),
    secretSlot,
    h('h3', { class: 'sub-head' }, 'Danger zone'),
    h('div', { class: 'form-actions' }, remove),
    confirmSlot,
  );
}
