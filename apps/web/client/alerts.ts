import { api, ApiError } from './api';
import { append, button, copyButton, field, h, statusLine } from './dom';
import { formatAgo, formatTime } from './format';

type Condition = { type: 'silence'; seconds: number } | { type: 'rate_above' | 'rate_below'; perMinute: number; seconds: number } | { type: 'failures' } | { type: 'backlog_full' };
type Channel = { type: 'email'; to?: string[] } | { type: 'webhook'; url?: string };

interface AlertNotification {
  at: string;
  channel: string;
  kind: 'firing' | 'resolved';
  status: string;
  attempts: number;
  error: string | null;
}

interface AlertView {
  id: string;
  name: string;
  condition: Condition;
  channels: Channel[];
  state: 'ok' | 'firing';
  since: string;
  notifications?: AlertNotification[];
  signingSecret?: string;
}

const alertsPath = (pipelineId: string, rest = '') => `/api/pipelines/${encodeURIComponent(pipelineId)}/alerts${rest}`;
const messageOf = (error: unknown) => (error instanceof ApiError ? `${error.message} (${error.code})` : (error as Error).message);

const CONDITIONS: Array<[Condition['type'], string]> = [
  ['silence', 'No event for a while'],
  ['rate_above', 'Rate above'],
  ['rate_below', 'Rate below'],
  ['failures', 'An event could not be stored'],
  ['backlog_full', 'Webhooks got 429 (backlog full)'],
];

export function describeCondition(condition: Condition): string {
  switch (condition.type) {
    case 'silence':
      return `no event for ${condition.seconds} s`;
    case 'rate_above':
      return `more than ${condition.perMinute}/min over ${condition.seconds} s`;
    case 'rate_below':
      return `fewer than ${condition.perMinute}/min over ${condition.seconds} s`;
    case 'failures':
      return 'an event could not be stored';
    case 'backlog_full':
      return 'webhooks refused with 429';
  }
}

/**
 * The pipeline's alerts: each with its state and notification history; for the admin, a form to
 * create one (condition, e-mail or signed webhook) and Delete on each.
 */
/** What the section needs from the page's live connection: alert updates of this pipeline. */
export interface AlertUpdates {
  onAlertUpdated(listener: (update: { pipelineId: string }) => void): void;
}

/** Updates arriving together cause one read. */
const REFRESH_DEBOUNCE_MS = 300;

/**
 * The pipeline page's alerts: each with its state, since when and its notifications, read again
 * whenever an ingestor reports a change (`alert_updated` on the pipeline's room); the admin also
 * creates and deletes them here.
 */
export function alertsSection(pipelineId: string, admin: boolean, live?: AlertUpdates): HTMLElement {
  const list = h('div', { class: 'rows', 'data-testid': 'alert-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const status = statusLine();
  const created = h('div', {});

  const load = () =>
    api<{ items: AlertView[] }>(alertsPath(pipelineId)).then(
      ({ items }) => list.replaceChildren(...(items.length ? items.map(row) : [h('p', { class: 'muted' }, 'No alerts yet.')])),
      (error: unknown) => list.replaceChildren(h('p', { class: 'muted' }, error instanceof ApiError && error.code === 'not_found' && !/pipeline/i.test(error.message) ? 'This server has no alerts.' : messageOf(error))),
    );

  const row = (alert: AlertView): HTMLElement => {
    const history = alert.notifications ?? [];
    let remove: HTMLButtonElement | null = null;
    if (admin) {
      const control = button(
        'Delete',
        () => {
          control.disabled = true;
          api(alertsPath(pipelineId, `/${encodeURIComponent(alert.id)}`), 'DELETE').then(
            () => {
              status.textContent = `Alert ${alert.name} deleted.`;
              void load();
            },
            (error: unknown) => {
              control.disabled = false;
              status.textContent = `Could not delete ${alert.name}: ${messageOf(error)}`;
            },
          );
        },
        'btn btn-danger-ghost btn-small',
      );
      remove = control;
    }
    return h(
      'article',
      { class: 'row alert-row', 'data-alert-id': alert.id, 'data-state': alert.state, 'aria-label': `Alert ${alert.name}` },
      h('div', { class: 'row-main' }, h('strong', {}, alert.name), h('span', { class: `badge state-${alert.state}`, 'data-testid': 'alert-state' }, alert.state), h('span', { class: 'muted small' }, `since ${formatAgo(Date.now() - Date.parse(alert.since))}`), h('span', { class: 'spacer' }), remove),
      h('div', { class: 'muted small' }, `When ${describeCondition(alert.condition)} · ${alert.channels.map((c) => (c.type === 'email' ? `e-mail${c.to ? ` ${c.to.join(', ')}` : ''}` : `webhook${c.url ? ` ${c.url}` : ''}`)).join(' · ')}`),
      history.length ? h('div', { class: 'small', 'data-testid': 'alert-last' }, `Last: ${history[0].kind} by ${history[0].channel}: ${history[0].status}`) : null,
      history.length
        ? h(
            'details',
            { class: 'history' },
            h('summary', {}, `${history.length} notification${history.length === 1 ? '' : 's'}`),
            h('ul', {}, ...history.map((n) => h('li', {}, `${formatTime(n.at)} · ${n.kind} by ${n.channel}: ${n.status}`, n.attempts > 1 ? ` after ${n.attempts} attempts` : '', n.error ? ` (${n.error})` : ''))),
          )
        : h('div', { class: 'muted small' }, 'No notification sent yet.'),
    );
  };

  const section = h(
    'section',
    { class: 'card', 'aria-labelledby': 'alerts', 'data-testid': 'alerts' },
    h('div', { class: 'card-head' }, h('h2', { id: 'alerts' }, 'Alerts'), h('div', { class: 'card-tools' }, button('Refresh', () => void load(), 'btn btn-ghost btn-small'))),
    list,
    status,
  );
  if (admin) append(section, createForm(pipelineId, created, () => void load()), created);
  let timer: ReturnType<typeof setTimeout> | null = null;
  live?.onAlertUpdated((update) => {
    if (update.pipelineId !== pipelineId || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void load();
    }, REFRESH_DEBOUNCE_MS);
  });
  void load();
  return section;
}

function createForm(pipelineId: string, created: HTMLElement, onCreated: () => void): HTMLElement {
  const name = h('input', { type: 'text', name: 'alertName', required: true, maxlength: '200', autocomplete: 'off', placeholder: 'Orders stopped' });
  const type = h('select', { name: 'condition' }, ...CONDITIONS.map(([value, label]) => h('option', { value }, label)));
  const perMinute = h('input', { type: 'number', name: 'perMinute', min: '0', step: 'any', value: '10' });
  const seconds = h('input', { type: 'number', name: 'seconds', min: '10', step: '1', value: '300' });
  const channel = h('select', { name: 'channel' }, h('option', { value: 'email' }, 'E-mail'), h('option', { value: 'webhook' }, 'Webhook (signed)'));
  const target = h('input', { type: 'text', name: 'target', required: true, autocomplete: 'off', placeholder: 'ops@example.com, oncall@example.com' });
  const perMinuteField = field('Events per minute', perMinute);
  const secondsField = field('Window (seconds)', seconds, 'At least 10.');
  const targetField = field('Send to', target, 'E-mail addresses, comma-separated; or the webhook URL.');
  const sync = () => {
    perMinuteField.hidden = !type.value.startsWith('rate_');
    secondsField.hidden = type.value === 'failures' || type.value === 'backlog_full';
    target.placeholder = channel.value === 'email' ? 'ops@example.com, oncall@example.com' : 'https://hooks.example.com/dash';
  };
  type.addEventListener('change', sync);
  channel.addEventListener('change', sync);
  sync();
  const problem = h('p', { class: 'alert', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create alert');
  const form = h('form', { class: 'form alert-form', 'aria-labelledby': 'new-alert' }, h('h3', { id: 'new-alert', class: 'sub-head' }, 'New alert'), field('Alert name', name), h('div', { class: 'form-grid' }, field('Condition', type), perMinuteField, secondsField), h('div', { class: 'form-grid' }, field('Channel', channel), targetField), problem, h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    problem.hidden = true;
    const kind = type.value as Condition['type'];
    const condition: Condition = kind === 'silence' ? { type: kind, seconds: Number(seconds.value) } : kind === 'rate_above' || kind === 'rate_below' ? { type: kind, perMinute: Number(perMinute.value), seconds: Number(seconds.value) } : { type: kind };
    const channels: Channel[] = channel.value === 'email' ? [{ type: 'email', to: target.value.split(',').map((s) => s.trim()).filter(Boolean) }] : [{ type: 'webhook', url: target.value.trim() }];
    submit.disabled = true;
    api<AlertView>(alertsPath(pipelineId), 'POST', { name: name.value.trim(), condition, channels }).then(
      (alert) => {
        submit.disabled = false;
        form.reset();
        sync();
        created.replaceChildren(
          alert.signingSecret
            ? h(
                'div',
                { class: 'secret-panel', 'data-testid': 'alert-secret' },
                h('p', {}, `${alert.name} signs its webhooks with this secret, shown this once: verify them with any Standard Webhooks library.`),
                h('div', { class: 'url-row' }, h('code', { class: 'url' }, alert.signingSecret), copyButton(() => alert.signingSecret ?? '', 'Copy secret')),
              )
            : h('p', { class: 'muted', role: 'status' }, `Alert ${alert.name} created.`),
        );
        onCreated();
      },
      (error: unknown) => {
        submit.disabled = false;
        problem.hidden = false;
        problem.textContent = messageOf(error);
      },
    );
  });
  return form;
}
