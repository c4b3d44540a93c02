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

/** Where senders POST a pipeline's webhooks: the route, its prefix, and one pipeline's path. */
export const WEBHOOK_PREFIX = '/webhooks/';
export const WEBHOOK_ROUTE = `${WEBHOOK_PREFIX}:pipelineId`;
export const webhookPath = (pipelineId: string) => `${WEBHOOK_PREFIX}${pipelineId}`;
