import type { AlertCondition, AlertView } from '@dash/domain';
import { api } from './api';
import { h } from './dom';
import { formatAgo } from './format';

/** Notifications shown per alert (the API lists up to 50). */
const SHOWN_NOTIFICATIONS = 5;
/** Updates arriving together cause one read. */
const REFRESH_DEBOUNCE_MS = 300;

/** What the page needs from its live connection: alert updates of this pipeline. */
export interface AlertUpdates {
  onAlertUpdated(listener: (update: { pipelineId: string }) => void): void;
}

function describe(condition: AlertCondition): string {
  switch (condition.type) {
    case 'silence':
      return `no event for ${condition.seconds} s`;
    case 'rate_above':
      return `above ${condition.perMinute}/min over ${condition.seconds} s`;
    case 'rate_below':
      return `below ${condition.perMinute}/min over ${condition.seconds} s`;
    case 'failures':
      return 'events fail to store';
    case 'backlog_full':
      return 'senders get 429';
  }
}

function alertRow(alert: AlertView, now: number): HTMLElement {
  const firing = alert.state === 'firing';
  const notes = (alert.notifications ?? []).slice(0, SHOWN_NOTIFICATIONS);
  return h(
    'li',
    { class: 'alert', 'data-testid': 'alert', 'data-alert-id': alert.id, 'data-state': alert.state },
    h(
      'div',
      { class: 'alert-head' },
      h('strong', {}, alert.name),
      ' ',
      h('span', { class: `badge ${firing ? 'badge-bad' : 'badge-ok'}`, 'data-testid': 'alert-state' }, firing ? 'firing' : 'ok'),
      ' ',
      h('span', { class: 'muted small' }, `${describe(alert.condition)} · ${alert.channels.map((channel) => channel.type).join(', ')} · since ${formatAgo(now - Date.parse(alert.since))}`),
    ),
    notes.length
      ? h(
          'ul',
          { class: 'alert-notes small muted' },
          ...notes.map((note) =>
            h('li', {}, `${formatAgo(now - Date.parse(note.at))} · ${note.kind} by ${note.channel} · ${note.status}${note.attempts > 1 ? ` after ${note.attempts} attempts` : ''}${note.error ? ` · ${note.error}` : ''}`),
          ),
        )
      : null,
  );
}

/**
 * The pipeline page's alerts: each with its state, since when, and its last notifications,
 * read again whenever an ingestor reports a change (`alert_updated` on the pipeline's room).
 */
export function mountAlerts(parent: HTMLElement, pipelineId: string, live: AlertUpdates): void {
  const list = h('ul', { class: 'alerts', 'data-testid': 'alerts' });
  const card = h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Alerts')), list);
  parent.appendChild(card);

  async function load(): Promise<void> {
    try {
      const { items } = await api<{ items: AlertView[] }>(`/api/pipelines/${encodeURIComponent(pipelineId)}/alerts`);
      const now = Date.now();
      list.replaceChildren(...(items.length ? items.map((alert) => alertRow(alert, now)) : [h('li', { class: 'muted' }, 'No alerts on this pipeline.')]));
    } catch {
      list.replaceChildren(h('li', { class: 'muted' }, 'Alerts cannot be read right now.'));
    }
  }

  let timer: ReturnType<typeof setTimeout> | null = null;
  live.onAlertUpdated((update) => {
    if (update.pipelineId !== pipelineId || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void load();
    }, REFRESH_DEBOUNCE_MS);
  });
  void load();
}
