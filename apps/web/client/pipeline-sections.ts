import { ApiError, deletePipeline, getFailures, getRejections, replayFailures, rotateSecret, updatePipeline, type FailureView, type PipelineView, type Rejection } from './api';
import { append, button, h, statusLine } from './dom';
import { pipelineForm, secretPanel } from './forms';
import { formatCount, formatTime, preview } from './format';

const messageOf = (error: unknown) => (error instanceof ApiError ? `${error.message} (${error.code})` : (error as Error).message);

function sectionCard(title: string, id: string, ...children: Array<Node | null>): HTMLElement {
  return h('section', { class: 'card', 'aria-labelledby': id, 'data-testid': id }, h('div', { class: 'card-head' }, h('h2', { id }, title), ...children.slice(0, 1)), ...children.slice(1));
}

/** Events the database refused, with their reasons; the admin replays them. */
export function failuresSection(pipeline: PipelineView, admin: boolean): HTMLElement {
  const list = h('div', { class: 'rows' }, h('p', { class: 'muted' }, 'Loading…'));
  const result = statusLine();
  const replay = admin ? button('Replay', () => void run(), 'btn btn-small') : null;
  const load = () =>
    getFailures(pipeline.id).then(
      ({ items, total }) => {
        if (replay) replay.disabled = total === 0;
        list.replaceChildren(...(items.length ? items.map(failureRow) : [h('p', { class: 'muted' }, 'None: every event was stored.')]));
        if (total > items.length) append(list, h('p', { class: 'muted small' }, `and ${formatCount(total - items.length)} more`));
      },
      (error: unknown) => list.replaceChildren(h('p', { class: 'alert' }, messageOf(error))),
    );
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
    await load();
  }
  void load();
  return sectionCard('Failures', 'failures', h('div', { class: 'card-tools' }, button('Refresh', () => void load(), 'btn btn-ghost btn-small'), replay), h('p', { class: 'muted small' }, 'Events that could not be stored, with the reason. Replay sends them through again.'), list, result);
}

function failureRow(failure: FailureView): HTMLElement {
  return h(
    'div',
    { class: 'row', 'data-failure-id': failure.id },
    h('div', { class: 'row-main' }, h('code', {}, failure.id), failure.event?.type ? h('span', { class: 'badge badge-type' }, failure.event.type) : null),
    h('div', { class: 'row-reason' }, failure.reason),
    h('div', { class: 'muted small' }, `${formatTime(failure.failedAt)} · ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'}`, failure.event ? ` · ${preview(failure.event.payload, 80)}` : ''),
  );
}

/** The last deliveries refused with a 4xx: how a sender debugs its signature. */
export function rejectionsSection(pipeline: PipelineView): HTMLElement {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const load = () =>
    getRejections(pipeline.id).then(
      ({ items }) => body.replaceChildren(items.length ? rejectionsTable(items) : h('p', { class: 'muted' }, 'None: no delivery was refused lately.')),
      (error: unknown) => body.replaceChildren(h('p', { class: 'muted' }, error instanceof ApiError && error.status === 404 && error.code !== 'pipeline_not_found' ? 'This server does not keep rejected deliveries.' : messageOf(error))),
    );
  void load();
  return sectionCard('Rejected deliveries', 'rejections', h('div', { class: 'card-tools' }, button('Refresh', () => void load(), 'btn btn-ghost btn-small')), h('p', { class: 'muted small' }, 'The last 100 webhooks refused with a 4xx, newest first (never their bodies).'), body);
}

function rejectionsTable(items: Rejection[]): HTMLElement {
  return h(
    'table',
    { class: 'table' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Error code'), h('th', { scope: 'col' }, 'Webhook id'))),
    h(
      'tbody',
      {},
      ...items.map((item) =>
        h('tr', {}, h('td', {}, h('time', { datetime: item.at }, formatTime(item.at))), h('td', {}, String(item.status)), h('td', {}, h('code', {}, item.error)), h('td', { class: 'break' }, item.webhookId ? h('code', {}, item.webhookId) : h('span', { class: 'muted' }, 'none'))),
      ),
    ),
  );
}

/** Admin only: edit, Rotate secret (the old one keeps working 24 hours) and Delete with confirmation. */
export function settingsSection(pipeline: PipelineView, onSaved: (saved: PipelineView) => void): HTMLElement {
  const saved = statusLine();
  const form = pipelineForm({
    submitLabel: 'Save changes',
    initial: pipeline,
    onSubmit: async (input) => {
      const updated = await updatePipeline(pipeline.id, input);
      saved.textContent = `Saved at ${formatTime(updated.updatedAt ?? new Date().toISOString())}.`;
      onSaved(updated);
    },
  });

  const secretSlot = h('div', {});
  const rotate = button(
    'Rotate secret',
    () => {
      rotate.disabled = true;
      rotateSecret(pipeline.id).then(
        ({ signingSecret }) => {
          rotate.disabled = false;
          secretSlot.replaceChildren(
            secretPanel({ title: 'New signing secret', secret: signingSecret, webhookUrl: `${location.origin}${pipeline.webhookPath}`, note: 'Shown this once: copy it now. The previous secret keeps working for 24 hours, so senders can switch without losing a webhook.' }),
          );
        },
        (error: unknown) => {
          rotate.disabled = false;
          secretSlot.replaceChildren(h('p', { class: 'alert', role: 'alert' }, messageOf(error)));
        },
      );
    },
    'btn',
  );

  const confirmSlot = h('div', {});
  const remove = button(
    'Delete pipeline',
    () => {
      remove.setAttribute('aria-expanded', 'true');
      const problem = h('p', { class: 'alert', role: 'alert', hidden: true });
      const yes = button(
        `Yes, delete ${pipeline.name}`,
        () => {
          yes.disabled = true;
          deletePipeline(pipeline.id).then(
            () => location.assign('/'),
            (error: unknown) => {
              yes.disabled = false;
              problem.hidden = false;
              problem.textContent = messageOf(error);
            },
          );
        },
        'btn btn-danger',
      );
      const no = button(
        'Cancel',
        () => {
          confirmSlot.replaceChildren();
          remove.setAttribute('aria-expanded', 'false');
          remove.focus();
        },
        'btn btn-ghost',
      );
      confirmSlot.replaceChildren(
        h('div', { class: 'confirm', role: 'alertdialog', 'aria-labelledby': 'confirm-delete', 'aria-describedby': 'confirm-delete-detail' }, h('h3', { id: 'confirm-delete' }, `Delete ${pipeline.name}?`), h('p', { id: 'confirm-delete-detail', class: 'muted' }, 'Its events, counts, failures and alerts go too, and its webhook URL stops accepting events. This cannot be undone.'), problem, h('div', { class: 'form-actions' }, yes, no)),
      );
      no.focus();
    },
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
