const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** `1,234,567`: digits with thousands separators (the contract's `count` hook). */
export const formatCount = (value: number): string => integer.format(value);

/** Events per minute: one decimal under 100, whole numbers above. */
export const formatRate = (value: number): string => (value < 100 ? oneDecimal.format(value) : integer.format(value));

/** `2 s ago`, `5 min ago`, `3 h ago`, `4 d ago` (a number never wraps away from its unit). */
export function formatAgo(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 1) return 'just now';
  if (seconds < 60) return `${seconds}\u00a0s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}\u00a0min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}\u00a0h ago`;
  return `${Math.floor(hours / 24)}\u00a0d ago`;
}

/** `180 ms`, `1.2 s`, `3 min`. */
export function formatDuration(ms: number): string {
  const value = Math.max(0, ms);
  if (value < 1000) return `${Math.round(value)}\u00a0ms`;
  if (value < 60_000) return `${oneDecimal.format(value / 1000)}\u00a0s`;
  if (value < 3_600_000) return `${oneDecimal.format(value / 60_000)}\u00a0min`;
  return `${oneDecimal.format(value / 3_600_000)}\u00a0h`;
}

const secondFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const minuteFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/**
 * Local date and clock time, `Dec 7, 04:52:13 AM`: every time on the pages (lists, tables, the
 * chart) is written with this, always with its date. `minute` for the chart's buckets.
 */
export function formatTime(at: string | number | Date, precision: 'second' | 'minute' = 'second'): string {
  const date = at instanceof Date ? at : new Date(at);
  return (precision === 'minute' ? minuteFormat : secondFormat).format(date);
}

/** A one-line JSON preview, cut at `max` characters. */
export function preview(payload: unknown, max = 180): string {
  let text: string;
  try {
    text = JSON.stringify(payload) ?? 'null';
  } catch {
    text = String(payload);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
