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
 * Largest exponent, and longest literal, of a number in an event's JSON text. JavaScript reads
 * anything beyond as 0 or Infinity, while PostgreSQL's numeric expands it digit by digit (an 8-byte
 * `1e-16000` is 16 000 digits) or refuses it (`1e-16384`, `1e131072`: "value overflows numeric
 * format"), so such a literal is refused at intake rather than failed by the writer.
 */
export const MAX_NUMBER_EXPONENT = 400;
export const MAX_NUMBER_LENGTH = 400;

/** What a byte scan of a JSON text found wrong, with where (a byte offset, and a line in NDJSON). */
export type JsonTextProblem = { kind: 'depth'; line: number } | { kind: 'number'; line: number; offset: number; literal: string };

export interface JsonTextScan {
  problem?: JsonTextProblem;
  /**
   * With `numbers`: the text holds no `\u` escape and no number near ±1e308, so its parsed values
   * hold nothing `findUnstorable` could find (a NUL or a lone surrogate can only come from an
   * escape in valid UTF-8 JSON, and Infinity only from such a number): intake skips that walk.
   */
  plain: boolean;
}

const isNumberByte = (byte: number): boolean => (byte >= 0x30 && byte <= 0x39) || byte === 0x2d || byte === 0x2b || byte === 0x2e || byte === 0x65 || byte === 0x45;
/** Past this (integer digits + exponent) a number may be beyond ±1.8e308: `plain` is false. */
const NEAR_INFINITY_DIGITS = 305;

/**
 * One byte scan of a JSON text (no recursion, no parse): arrays/objects nested deeper than `max`
 * anywhere (a body nested 100 000 levels deep would otherwise overflow the stack wherever it is
 * serialized: the queue, a reply, socket.io's encoder) and, with `numbers`, a number literal past
 * MAX_NUMBER_EXPONENT / MAX_NUMBER_LENGTH. With `perLine` (NDJSON) each line counts on its own; in a
 * JSON body a newline is only whitespace and must not reset the depth. Lines count from 1.
 */
export function scanJsonText(body: Buffer, max: number, perLine = false, numbers = false): JsonTextScan {
  let depth = 0;
  let inString = false;
  let line = 1;
  let plain = true;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === 0x5c) {
        if (body[i + 1] === 0x75) plain = false; // \u: may spell a NUL or a lone surrogate
        i++; // skip the escaped byte
      } else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > max) return { problem: { kind: 'depth', line }, plain };
    } else if (byte === 0x5d || byte === 0x7d) depth--;
    else if (byte === 0x0a) {
      line++;
      if (perLine) depth = 0;
    } else if (numbers && (byte === 0x2d || (byte >= 0x30 && byte <= 0x39))) {
      // Outside a string a number is the only token made of these bytes (true/false hold an "e"
      // but never start with one of them).
      let end = i + 1;
      let integerDigits = byte === 0x2d ? 0 : 1;
      let inInteger = true;
      let exponent = 0;
      let negativeExponent = false;
      let inExponent = false;
      while (end < body.length && isNumberByte(body[end])) {
        const b = body[end];
        if (b === 0x65 || b === 0x45) {
          inExponent = true;
          inInteger = false;
        } else if (b === 0x2e) inInteger = false;
        else if (inExponent && b === 0x2d) negativeExponent = true;
        else if (inExponent && b >= 0x30 && b <= 0x39) {
          if (exponent <= MAX_NUMBER_EXPONENT) exponent = exponent * 10 + (b - 0x30);
        } else if (inInteger && b >= 0x30 && b <= 0x39) integerDigits++;
        end++;
      }
      if (end - i > MAX_NUMBER_LENGTH || exponent > MAX_NUMBER_EXPONENT) {
        return { problem: { kind: 'number', line, offset: i, literal: body.subarray(i, Math.min(end, i + 24)).toString('latin1') + (end - i > 24 ? '…' : '') }, plain };
      }
      if (integerDigits + (negativeExponent ? -exponent : exponent) > NEAR_INFINITY_DIGITS) plain = false;
      i = end - 1;
    }
  }
  return { plain: plain && numbers };
}

/** True when arrays/objects nest deeper than `max` anywhere in the JSON text (see scanJsonText). */
export function nestsDeeperThan(body: Buffer, max: number, perLine = false): boolean {
  return scanJsonText(body, max, perLine).problem !== undefined;
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
