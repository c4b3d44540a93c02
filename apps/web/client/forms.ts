import { ApiError, type PipelineInput, type PipelineView, type PipelineSource } from './api';
import { append, copyButton, field, h } from './dom';
import { signingExamples } from './examples';

export interface PipelineForm {
  element: HTMLFormElement;
  /** Shows an API or validation error above the buttons (announced). */
  fail(error: unknown): void;
}

/** `Name: value` lines into headers; a line without a colon is a mistake worth naming. */
function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const colon = line.indexOf(':');
    if (colon < 1) throw new Error(`Header "${line}" needs the form Name: value.`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * The pipeline form, for New pipeline and for settings: name, source (webhook or poll with url,
 * interval, headers, items path) and the event paths. Empty paths are left to the server's defaults.
 */
export function pipelineForm(options: { submitLabel: string; initial?: PipelineView; onSubmit: (input: PipelineInput) => Promise<void>; onCancel?: () => void }): PipelineForm {
  const { initial } = options;
  const poll = initial?.source.type === 'poll' ? initial.source : undefined;
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: '200', autocomplete: 'off', value: initial?.name ?? '' });
  const webhookRadio = h('input', { type: 'radio', name: 'source', value: 'webhook', checked: !poll });
  const pollRadio = h('input', { type: 'radio', name: 'source', value: 'poll', checked: Boolean(poll) });
  const url = h('input', { type: 'url', name: 'url', placeholder: 'https://api.example.com/events', value: poll?.url ?? '' });
  const interval = h('input', { type: 'number', name: 'intervalSeconds', min: '5', max: '86400', step: '1', value: String(poll?.intervalSeconds ?? 60) });
  const headers = h('textarea', { name: 'headers', rows: '2', spellcheck: 'false', placeholder: 'Authorization: Bearer …' });
  headers.value = poll?.headers ? Object.entries(poll.headers).map(([k, v]) => `${k}: ${v}`).join('\n') : '';
  const itemsPath = h('input', { type: 'text', name: 'itemsPath', placeholder: 'data.items', value: poll?.itemsPath ?? '' });
  const pollFields = h(
    'div',
    { class: 'form-grid poll-fields' },
    field('Poll URL', url),
    field('Interval (seconds)', interval, 'At least 5.'),
    field('Headers', headers, 'One "Name: value" a line, sent with each poll.'),
    field('Items path', itemsPath, 'Where the array of items is in the answer; empty: the answer itself.'),
  );
  const showPoll = () => {
    pollFields.hidden = !pollRadio.checked;
    url.required = pollRadio.checked;
  };
  webhookRadio.addEventListener('change', showPoll);
  pollRadio.addEventListener('change', showPoll);
  showPoll();

  const path = (label: string, fieldName: string, fallback: string, value?: string) => {
    const input = h('input', { type: 'text', name: fieldName, placeholder: fallback, autocomplete: 'off', spellcheck: 'false', value: value && value !== fallback ? value : '' });
    return { input, element: field(label, input, `Dot-separated keys; empty: ${fallback}.`) };
  };
  const idPath = path('Event id path', 'eventIdPath', 'id', initial?.eventIdPath);
  const timePath = path('Event time path', 'eventTimePath', 'timestamp', initial?.eventTimePath);
  const typePath = path('Event type path', 'eventTypePath', 'type', initial?.eventTypePath);

  const problem = h('p', { class: 'alert', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, options.submitLabel);
  const cancel = options.onCancel ? h('button', { type: 'button', class: 'btn btn-ghost' }, 'Cancel') : null;
  cancel?.addEventListener('click', () => options.onCancel?.());

  const form = h(
    'form',
    { class: 'form' },
    field('Name', name),
    h(
      'fieldset',
      { class: 'choice' },
      h('legend', {}, 'Source'),
      h('label', { class: 'radio' }, webhookRadio, ' Webhook ', h('span', { class: 'muted' }, '(senders POST signed events)')),
      h('label', { class: 'radio' }, pollRadio, ' Poll ', h('span', { class: 'muted' }, '(Dash fetches a URL on a schedule)')),
    ),
    pollFields,
    h('fieldset', { class: 'form-grid' }, h('legend', {}, 'Event paths'), idPath.element, timePath.element, typePath.element),
    problem,
    h('div', { class: 'form-actions' }, submit, cancel),
  );

  const fail = (error: unknown) => {
    problem.hidden = false;
    problem.textContent = error instanceof ApiError ? `${error.message} (${error.code})` : (error as Error).message;
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    problem.hidden = true;
    let source: PipelineSource;
    try {
      source = pollRadio.checked ? { type: 'poll', url: url.value.trim(), intervalSeconds: Number(interval.value), headers: parseHeaders(headers.value), ...(itemsPath.value.trim() ? { itemsPath: itemsPath.value.trim() } : {}) } : { type: 'webhook' };
    } catch (error) {
      fail(error);
      return;
    }
    const input: PipelineInput = { name: name.value.trim(), source };
    for (const [key, control] of [
      ['eventIdPath', idPath.input],
      ['eventTimePath', timePath.input],
      ['eventTypePath', typePath.input],
    ] as const) {
      // On edit, an emptied path goes back to its default; on create the server's default applies.
      const value = control.value.trim() || (initial ? control.placeholder : '');
      if (value) input[key] = value;
    }
    submit.disabled = true;
    options.onSubmit(input).then(
      () => (submit.disabled = false),
      (error: unknown) => {
        submit.disabled = false;
        fail(error);
      },
    );
  });
  return { element: form, fail };
}

/** The signing secret, shown once, with a copy button and signed examples ready to paste. */
export function secretPanel(options: { title: string; secret: string; webhookUrl: string; note: string }): HTMLElement {
  const panel = h(
    'section',
    { class: 'card secret-panel', 'data-testid': 'signing-secret', 'aria-labelledby': 'secret-title' },
    h('h2', { id: 'secret-title' }, options.title),
    h('p', { class: 'muted' }, options.note),
    h('div', { class: 'url-row' }, h('code', { class: 'url', 'data-testid': 'secret' }, options.secret), copyButton(() => options.secret, 'Copy secret')),
    h('p', { class: 'muted small' }, 'Webhook URL'),
    h('div', { class: 'url-row' }, h('code', { class: 'url' }, options.webhookUrl), copyButton(() => options.webhookUrl, 'Copy URL')),
    h('h3', {}, 'Send a signed event'),
  );
  append(panel, signingExamples(options.webhookUrl, options.secret));
  return panel;
}
