/**
 * The value at a dot-separated path (`data.object.id`); array items by index (`items.0`).
 * An empty path is the value itself.
 */
export function valueAtPath(value: unknown, path: string): unknown {
  if (path === '') return value;
  let current: unknown = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** A path is one or more non-empty keys joined by dots (or empty where allowed). */
export function isValidPath(path: string, allowEmpty = false): boolean {
  if (path === '') return allowEmpty;
  return path.length <= 200 && path.split('.').every((key) => key.length > 0);
}

/** `where=<path>=<value>`: events whose payload holds `value` at `path`. */
export interface PathFilter {
  path: string;
  value: string;
}

/** At most this many `where` filters in one request (they AND). */
export const MAX_PATH_FILTERS = 8;

/** Reads `<path>=<value>` (split at the first `=`; the value may be empty), or null when the path is not a valid one. */
export function parsePathFilter(text: string): PathFilter | null {
  const at = text.indexOf('=');
  if (at <= 0) return null;
  const path = text.slice(0, at);
  return isValidPath(path) ? { path, value: text.slice(at + 1) } : null;
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * The JSON scalars a filter's text matches, as JSON texts: the string itself, and also the number,
 * boolean or null it spells (`42` matches `"42"` and `42`, `true` matches `"true"` and `true`), since a
 * query string carries no types.
 */
export function filterScalars(value: string): string[] {
  const scalars = [JSON.stringify(value)];
  if (JSON_NUMBER.test(value) && Number.isFinite(Number(value))) scalars.push(value);
  if (value === 'true' || value === 'false' || value === 'null') scalars.push(value);
  return scalars;
}
