import type { IngestEvent } from '@dash/domain';

// COPY text format: tab-separated, \N for NULL; backslash, tab, newline and carriage return escaped.
const SPECIAL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function field(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(SPECIAL, (ch) => ESCAPES[ch] ?? ch);
}

/** One staging row per event: pipeline_id, event_id, type, occurred_at, received_at, payload. */
export function toCopyRows(events: readonly IngestEvent[]): string {
  let out = '';
  for (const event of events) {
    out +=
      field(event.pipelineId) + '\t' +
      field(event.id) + '\t' +
      field(event.type) + '\t' +
      new Date(event.occurredAt).toISOString() + '\t' +
      new Date(event.receivedAt).toISOString() + '\t' +
      field(JSON.stringify(event.payload)) + '\n';
  }
  return out;
}
