import { describeCondition, describeDelivery, FLAPPING_EXPLAINED, MAX_ALERT_CHANNELS, MIN_ALERT_WINDOW_SECONDS } from '@dash/domain/browser';
import { askFirst } from './confirm';
import { ApiError, createAlert, deleteAlert, getAlerts, updateAlert, type AlertChannel, type AlertChannelView, type AlertCondition, type AlertInput, type AlertView, type NotificationView, type SavedAlert } from './api';
import { append, button, copyButton, field, h, statusLine } from './dom';
import { formatAgo, formatTime } from './format';

const messageOf = (error: unknown) => (error instanceof ApiError ? `${error.message} (${error.code})` : (error as Error).message);

const CONDITIONS: Array<[AlertCondition['type'], string]> = [
  ['silence', 'No event for a while'],
  ['rate_above', 'Rate above'],
  ['rate_below', 'Rate below'],
  ['failures', 'An event could not be stored'],
  ['backlog_full', 'Webhooks got 429 (backlog full)'],
];

const EMAIL_UNAVAILABLE = 'E-mail needs SMTP_URL, which this server does not set: use a webhook, or ask the operator (docs/deploy.md).';

/** What the section needs from the page's live connection: alert updates of this pipeline. */
export interface AlertUpdates {
  onAlertUpdated(listener: (update: { pipelineId: string }) => void): void;
}

/** Updates arriving together cause one read. */
const REFRESH_DEBOUNCE_MS = 300;

const describeChannel = (channel: AlertChannelView) =>
  channel.type === 'email' ? `e-mail${'to' in channel ? ` ${channel.to.join(', ')}` : ''}` : `webhook${'url' in channel ? ` ${channel.url}` : ''}`;

/**
 * The latest transition's notifications, one per channel, each with how its delivery went:
 * "firing by webhook: failed: getaddrinfo ENOTFOUND … after 6 attempts · by email: sent".
 */
export function lastOutcome(history: readonly NotificationView[]): string | null {
  const latest = history[0];
  if (!latest) return null;
  const same = history.filter((n) => n.kind === latest.kind && n.at === latest.at);
  return `Last: ${latest.kind} ${same.map((n) => `by ${n.channel}: ${describeDelivery(n)}`).join(' · ')}`;
}

/**
 * The pipeline page's alerts: each with its state, since when, how its last notification went and
 * its history, read again whenever an ingestor reports a change (`alert_updated` on the pipeline's
 * room); the admin also creates, edits and deletes them here.
 */
export function alertsSection(pipelineId: string, admin: boolean, live?: AlertUpdates): HTMLElement {
  const list = h('div', { class: 'rows', 'data-testid': 'alert-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const status = statusLine();
  const created = h('div', {});
  /** Rows being edited keep their form across reloads (a live update must not wipe what is typed). */
  const editing = new Map<string, HTMLElement>();
  let emailAvailable = false;
  const form = admin ? alertForm({ submitLabel: 'Create alert', heading: 'New alert', emailAvailable: () => emailAvailable, save: (input) => createAlert(pipelineId, input), saved: (alert) => showSaved(alert, 'created') }) : null;

  const showSaved = (alert: SavedAlert, verb: string) => {
    created.replaceChildren(
      alert.signingSecret
        ? h(
            'div',
            { class: 'secret-panel', 'data-testid': 'alert-secret' },
            h('p', {}, `${alert.name} signs its webhooks with this secret, shown this once: verify them with any Standard Webhooks library.`),
            h('div', { class: 'url-row' }, h('code', { class: 'url' }, alert.signingSecret), copyButton(() => alert.signingSecret ?? '', 'Copy secret')),
          )
        : h('p', { class: 'muted', role: 'status' }, `Alert ${alert.name} ${verb}.`),
    );
    void load();
  };

  const load = () =>
    getAlerts(pipelineId).then(
      (answer) => {
        emailAvailable = answer.emailAvailable === true;
        form?.refresh();
        for (const id of editing.keys()) if (!answer.items.some((alert) => alert.id === id)) editing.delete(id);
        list.replaceChildren(...(answer.items.length ? answer.items.map(row) : [h('p', { class: 'muted' }, 'No alerts yet.')]));
      },
      (error: unknown) => list.replaceChildren(h('p', { class: 'muted' }, error instanceof ApiError && error.code === 'not_found' && !/pipeline/i.test(error.message) ? 'This server has no alerts.' : messageOf(error))),
    );

  const row = (alert: AlertView): HTMLElement => {
    const history = alert.notifications ?? [];
    const last = lastOutcome(history);
    const confirmSlot = h('div', {});
    const article = h(
      'article',
      { class: 'row alert-row', 'data-alert-id': alert.id, 'data-state': alert.state, 'aria-label': `Alert ${alert.name}` },
      h(
        'div',
        { class: 'row-main' },
        h('strong', {}, alert.name),
        h('span', { class: `badge state-${alert.state}`, 'data-testid': 'alert-state', title: alert.state === 'flapping' ? FLAPPING_EXPLAINED : null }, alert.state),
        h('span', { class: 'muted small' }, `since ${formatAgo(Date.now() - Date.parse(alert.since))}`),
        h('span', { class: 'spacer' }),
        admin ? button('Edit', () => edit(alert, article), 'btn btn-ghost btn-small') : null,
        admin ? deleteButton(alert, confirmSlot) : null,
      ),
      confirmSlot,
      h('div', { class: 'muted small' }, `When ${describeCondition(alert.condition)} · ${alert.channels.map(describeChannel).join(' · ')}`),
      alert.state === 'flapping' ? h('div', { class: 'small', 'data-testid': 'alert-flapping' }, `Flapping: ${FLAPPING_EXPLAINED}.`) : null,
      last ? h('div', { class: 'small', 'data-testid': 'alert-last' }, last) : null,
      history.length
        ? h(
            'details',
            { class: 'history' },
            h('summary', {}, `${history.length} notification${history.length === 1 ? '' : 's'}`),
            h('ul', {}, ...history.map((n) => h('li', {}, `${formatTime(n.at)} · ${n.kind} by ${n.channel}: ${describeDelivery(n)}`))),
          )
        : h('div', { class: 'muted small' }, 'No notification sent yet.'),
    );
    const open = editing.get(alert.id);
    if (open) article.append(open);
    return article;
  };

  const edit = (alert: AlertView, article: HTMLElement) => {
    if (editing.has(alert.id)) return;
    const close = () => {
      editing.delete(alert.id);
      editor.element.remove();
    };
    const editor = alertForm({
      submitLabel: 'Save changes',
      heading: `Edit ${alert.name}`,
      initial: alert,
      emailAvailable: () => emailAvailable,
      save: (input) => updateAlert(pipelineId, alert.id, input),
      saved: (saved) => {
        close();
        showSaved(saved, 'saved');
      },
      cancel: close,
    });
    editing.set(alert.id, editor.element);
    article.append(editor.element);
  };

  // Asks first, as every destructive control does; the question opens inside the alert's row.
  const deleteButton = (alert: AlertView, slot: HTMLElement) => {
    const control = button(
      'Delete',
      () =>
        askFirst({
          trigger: control,
          slot,
          title: `Delete ${alert.name}?`,
          detail: 'It stops being evaluated and its notification history goes too. This cannot be undone.',
          yes: `Yes, delete ${alert.name}`,
          action: async () => {
            await deleteAlert(pipelineId, alert.id);
            status.textContent = `Alert ${alert.name} deleted.`;
            void load();
          },
        }),
      'btn btn-danger-ghost btn-small',
    );
    control.setAttribute('aria-expanded', 'false');
    return control;
  };

  const section = h(
    'section',
    { class: 'card', 'aria-labelledby': 'alerts', 'data-testid': 'alerts' },
    h('div', { class: 'card-head' }, h('h2', { id: 'alerts' }, 'Alerts'), h('div', { class: 'card-tools' }, button('Refresh', () => void load(), 'btn btn-ghost btn-small'))),
    list,
    status,
  );
  if (form) append(section, form.element, created);
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

interface AlertFormOptions {
  submitLabel: string;
  heading: string;
  initial?: AlertView;
  /** Whether e-mail channels can be chosen (the deployment sets SMTP_URL), as last read. */
  emailAvailable: () => boolean;
  save: (input: AlertInput) => Promise<SavedAlert>;
  saved: (alert: SavedAlert) => void;
  cancel?: () => void;
}

/** One channel's controls: its type and where it goes. */
interface ChannelControls {
  element: HTMLElement;
  type: HTMLSelectElement;
  target: HTMLInputElement;
  sync(): void;
}

let forms = 0;

/** The alert form, to create one or (with `initial`) to change one through PATCH. */
function alertForm(options: AlertFormOptions): { element: HTMLFormElement; refresh(): void } {
  const initial = options.initial;
  const id = `alert-form-${++forms}`;
  const name = h('input', { type: 'text', name: 'alertName', required: true, maxlength: '200', autocomplete: 'off', placeholder: 'Orders stopped', value: initial?.name ?? '' });
  const type = h('select', { name: 'condition' }, ...CONDITIONS.map(([value, label]) => h('option', { value, selected: initial?.condition.type === value }, label)));
  const condition = initial?.condition;
  const perMinute = h('input', { type: 'number', name: 'perMinute', min: '0', step: 'any', value: String(condition && 'perMinute' in condition ? condition.perMinute : 10) });
  const seconds = h('input', { type: 'number', name: 'seconds', min: String(MIN_ALERT_WINDOW_SECONDS), step: '1', value: String(condition?.seconds ?? 300) });
  const perMinuteField = field('Events per minute', perMinute);
  const secondsField = field('Window (seconds)', seconds, `At least ${MIN_ALERT_WINDOW_SECONDS}.`);
  const syncCondition = () => {
    perMinuteField.hidden = !type.value.startsWith('rate_');
    secondsField.hidden = type.value === 'failures' || type.value === 'backlog_full';
  };
  type.addEventListener('change', syncCondition);
  syncCondition();

  const channelList = h('div', { class: 'channels' });
  const channels: ChannelControls[] = [];
  const addChannel = h('button', { type: 'button', class: 'btn btn-ghost btn-small' }, 'Add channel');
  const channelRow = (channel?: AlertChannelView): ChannelControls => {
    const n = channels.length + 1;
    const suffix = n === 1 ? '' : ` ${n}`;
    // Webhook first: it needs nothing of the deployment; e-mail needs SMTP_URL.
    const kind = h('select', { name: 'channel' }, h('option', { value: 'webhook' }, 'Webhook (signed)'), h('option', { value: 'email' }, 'E-mail'));
    if (channel) kind.value = channel.type;
    const target = h('input', { type: 'text', name: 'target', required: true, autocomplete: 'off', value: channel && 'to' in channel ? channel.to.join(', ') : channel && 'url' in channel ? channel.url : '' });
    const hint = h('small', { class: 'hint muted', 'data-testid': 'email-unavailable', hidden: true }, EMAIL_UNAVAILABLE);
    const remove = n === 1 ? null : button('Remove', () => removeChannel(controls), 'btn btn-ghost btn-small');
    const controls: ChannelControls = {
      element: h('div', { class: 'channel-row' }, field(`Channel${suffix}`, kind), field(`Send to${suffix}`, target, 'E-mail addresses, comma-separated; or the webhook URL.'), remove, hint),
      type: kind,
      target,
      sync: () => {
        const email = kind.querySelector<HTMLOptionElement>('option[value="email"]');
        // An alert that already mails keeps its choice visible; the server says why it refuses it.
        if (email) email.disabled = !options.emailAvailable() && kind.value !== 'email';
        hint.hidden = options.emailAvailable();
        target.placeholder = kind.value === 'email' ? 'ops@example.com, oncall@example.com' : 'https://hooks.example.com/dash';
      },
    };
    kind.addEventListener('change', controls.sync);
    controls.sync();
    return controls;
  };
  const removeChannel = (controls: ChannelControls) => {
    channels.splice(channels.indexOf(controls), 1);
    controls.element.remove();
    addChannel.disabled = channels.length >= MAX_ALERT_CHANNELS;
  };
  const pushChannel = (channel?: AlertChannelView) => {
    const controls = channelRow(channel);
    channels.push(controls);
    channelList.append(controls.element);
    addChannel.disabled = channels.length >= MAX_ALERT_CHANNELS;
  };
  addChannel.addEventListener('click', () => pushChannel());
  for (const channel of initial?.channels ?? [undefined]) pushChannel(channel);

  const problem = h('p', { class: 'alert', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, options.submitLabel);
  const cancel = options.cancel ? button('Cancel', options.cancel, 'btn btn-ghost') : null;
  const form = h(
    'form',
    { class: 'form alert-form', 'aria-labelledby': id, 'data-testid': initial ? 'alert-edit' : 'alert-new' },
    h('h3', { id, class: 'sub-head' }, options.heading),
    field('Alert name', name),
    h('div', { class: 'form-grid' }, field('Condition', type), perMinuteField, secondsField),
    channelList,
    h('div', { class: 'form-actions' }, addChannel),
    problem,
    h('div', { class: 'form-actions' }, submit, cancel),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    problem.hidden = true;
    const kind = type.value as AlertCondition['type'];
    const chosen: AlertCondition =
      kind === 'silence' ? { type: kind, seconds: Number(seconds.value) } : kind === 'rate_above' || kind === 'rate_below' ? { type: kind, perMinute: Number(perMinute.value), seconds: Number(seconds.value) } : { type: kind };
    const input: AlertInput = {
      name: name.value.trim(),
      condition: chosen,
      channels: channels.map(({ type: channelType, target }): AlertChannel =>
        channelType.value === 'email'
          ? {
              type: 'email',
              to: target.value
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean),
            }
          : { type: 'webhook', url: target.value.trim() },
      ),
    };
    submit.disabled = true;
    options.save(input).then(
      (alert) => {
        submit.disabled = false;
        if (!initial) {
          form.reset();
          while (channels.length > 1) removeChannel(channels[channels.length - 1]);
          syncCondition();
          for (const controls of channels) controls.sync();
        }
        options.saved(alert);
      },
      (error: unknown) => {
        submit.disabled = false;
        problem.hidden = false;
        problem.textContent = messageOf(error);
      },
    );
  });
  return { element: form, refresh: () => channels.forEach((controls) => controls.sync()) };
}
