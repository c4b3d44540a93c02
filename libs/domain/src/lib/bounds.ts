/**
 * Bounds on what one request, socket or stored value can make a process hold or build
 * (contract: "Reading", "Live updates").
 */

/** Deepest nesting of arrays and objects accepted in an event (real events are a few levels deep). */
export const MAX_JSON_DEPTH = 100;

/** A payload larger than this (as JSON text) goes out as `null` with `payloadTruncated` in stats, acks and live updates. */
export const MAX_LIVE_PAYLOAD_BYTES = 16 * 1024;

/** A page of events or failures stops early (with its `next` cursor) rather than exceed this. */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;

/** A socket sending more `subscribe`/`unsubscribe` than this in one second is disconnected. */
export const MAX_SOCKET_COMMANDS_PER_SECOND = 20;

/** A socket whose unsent output grows past this (it stopped reading) is disconnected. */
export const MAX_SOCKET_BUFFER_BYTES = 1024 * 1024;

/**
 * True when arrays/objects nest deeper than `max` anywhere in the JSON text. A byte scan (no
 * recursion): a body nested 100 000 levels deep would otherwise overflow the stack wherever it is
 * serialized (the queue, a reply, socket.io's encoder). With `perLine` (NDJSON) each line counts on
 * its own; in a JSON body a newline is only whitespace and must not reset the depth.
 */
export function nestsDeeperThan(body: Buffer, max: number, perLine = false): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === 0x5c) i++; // backslash: skip the escaped byte
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > max) return true;
    } else if (byte === 0x5d || byte === 0x7d) depth--;
    else if (byte === 0x0a && perLine) depth = 0;
  }
  return false;
}

/**
 * True when a parsed value nests arrays/objects deeper than `max` (iterative: safe on any depth).
 * For values that did not come through the byte scan: poll items, payloads stored by older versions.
 */
export function valueNestsDeeperThan(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [object, number];
    if (depth > max) return true;
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (child !== null && typeof child === 'object') stack.push([child as object, depth + 1]);
    }
  }
  return false;
}
