import { DashError } from './errors';
import type { IngestEvent } from './events';
import { valueAtPath } from './paths';
import type { EventPaths } from './pipeline';
import { parseIsoTime } from './iso-time';
import { findUnstorable } from './storable';

export const MAX_BATCH_EVENTS = 1000;
const MAX_ID_LENGTH = 255;
const MAX_TYPE_LENGTH = 200;
// Plausible event times: from the epoch up to the year 9999 (PostgreSQL timestamptz range is wider).
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59);
// Below this a number is read as seconds, at or above it as milliseconds (1e11 s is the year 5138).
const SECONDS_LIMIT = 1e11;

export type BodyFormat = 'json' | 'ndjson';

export interface ExtractInput {
  pipelineId: string;
  webhookId: string;
  format: BodyFormat;
  body: Buffer;
  receivedAt: number;
  paths: EventPaths;
  /** The byte scan found the body `plain` (scanJsonText): its values need no storability walk. */
  plain?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new DashError(400, 'invalid_json', 'body is not valid UTF-8');
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DashError(400, 'invalid_json', `${where} is not valid JSON: ${(error as Error).message}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses an event time: ISO 8601, or unix seconds or milliseconds (number or numeric string). */
export function parseEventTime(value: unknown): number | undefined {
  let ms: number;
  if (typeof value === 'number') {
    ms = Math.abs(value) < SECONDS_LIMIT ? value * 1000 : value;
  } else if (typeof value === 'string' && value.trim() !== '') {
    const numeric = Number(value);
    if (Number.isFinite(numeric)) return parseEventTime(numeric);
    // Strict ISO 8601: Date.parse reads "1" or "May", and rolls 2026-02-31 over to March.
    ms = parseIsoTime(value) ?? Number.NaN;
  } else {
    return undefined;
  }
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_MS) return undefined;
  return Math.trunc(ms);
}

function scalarText(value: unknown, max: number): string | undefined {
  if (typeof value === 'string' && value.length > 0 && value.length <= max) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

interface EventContext {
  pipelineId: string;
  receivedAt: number;
  paths: EventPaths;
  /** The id of a batch item that has none at `eventIdPath`. */
  fallbackId: (item: Record<string, unknown>, index: number) => string;
  /** Walk each item for what jsonb refuses (false only where a byte scan proved there is none). */
  checkValues: boolean;
}

function toEvent(input: EventContext, item: Record<string, unknown>, index: number | null, text: string | null, singleId?: string): IngestEvent {
  const where = index === null ? 'event' : `event ${index}`;
  const { eventIdPath, eventTimePath, eventTypePath } = input.paths;
  // Before anything serialises the item (a content id, the queue): what jsonb would refuse, or
  // nesting too deep (poll items pass no byte scan), is refused here with its place, never
  // acknowledged and then failed by the writer.
  const unstorable = input.checkValues ? findUnstorable(item) : undefined;
  if (unstorable) throw new DashError(400, 'invalid_event', `${where}: ${unstorable.path} ${unstorable.problem}`);

  let id = singleId ?? '';
  if (index !== null) {
    const raw = valueAtPath(item, eventIdPath);
    if (raw === undefined || raw === null) id = input.fallbackId(item, index);
    else {
      const text = scalarText(raw, MAX_ID_LENGTH);
      if (text === undefined) throw new DashError(400, 'invalid_event', `${where}: ${eventIdPath} must be a string of 1 to ${MAX_ID_LENGTH} characters or a number`);
      id = text;
    }
  }

  let occurredAt = input.receivedAt;
  const rawTime = valueAtPath(item, eventTimePath);
  if (rawTime !== undefined && rawTime !== null) {
    const parsed = parseEventTime(rawTime);
    if (parsed === undefined) throw new DashError(400, 'invalid_event', `${where}: ${eventTimePath} must be ISO 8601 or unix seconds or milliseconds`);
    occurredAt = parsed;
  }

  const rawType = valueAtPath(item, eventTypePath);
  const type = rawType === undefined || rawType === null ? null : scalarText(rawType, MAX_TYPE_LENGTH);
  if (type === undefined) throw new DashError(400, 'invalid_event', `${where}: ${eventTypePath} must be a string of 1 to ${MAX_TYPE_LENGTH} characters`);

  // The sender's own text where the item was a whole text (a body, a line); else serialised once.
  return { pipelineId: input.pipelineId, id, type, occurredAt, receivedAt: input.receivedAt, payloadJson: text ?? JSON.stringify(item) };
}

function checkBatchSize(size: number): void {
  if (size === 0) throw new DashError(400, 'invalid_event', 'the batch holds no events');
  if (size > MAX_BATCH_EVENTS) throw new DashError(400, 'invalid_event', `a batch holds at most ${MAX_BATCH_EVENTS} events (got ${size})`);
}

/**
 * Turns a verified webhook body into events by the contract's rules: one object is one event
 * with the `webhook-id` as its id; an array or NDJSON is a batch whose ids come from
 * `eventIdPath`, else `{webhook-id}:{index}`. All or nothing: any bad item rejects the request.
 */
export function extractEvents(input: ExtractInput): IngestEvent[] {
  const context: EventContext = { ...input, fallbackId: (_item, index) => `${input.webhookId}:${index}`, checkValues: input.plain !== true };
  const text = decodeUtf8(input.body);
  if (input.format === 'ndjson') {
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    checkBatchSize(lines.length);
    return lines.map((line, index) => {
      const item = parseJson(line, `line ${index + 1}`);
      if (!isObject(item)) throw new DashError(400, 'invalid_event', `line ${index + 1} is not a JSON object`);
      return toEvent(context, item, index, line);
    });
  }
  const parsed = parseJson(text, 'body');
  if (Array.isArray(parsed)) {
    checkBatchSize(parsed.length);
    return parsed.map((item: unknown, index) => {
      if (!isObject(item)) throw new DashError(400, 'invalid_event', `event ${index} is not a JSON object`);
      return toEvent(context, item, index, null);
    });
  }
  if (!isObject(parsed)) throw new DashError(400, 'invalid_event', 'the body must be a JSON object or an array of objects');
  return [toEvent(context, parsed, null, text, input.webhookId)];
}

/** Most items one poll ingests. */
export const MAX_POLL_ITEMS = 10_000;

/**
 * The events of one poll: each item becomes an event by the same rules as a webhook batch
 * item. An item without an id at `eventIdPath` is identified by its content, so polling the
 * same item again is deduplicated like a repeated delivery.
 */
export function pollEvents(pipelineId: string, items: unknown, paths: EventPaths, receivedAt: number, contentId: (item: unknown) => string): IngestEvent[] {
  if (!Array.isArray(items)) throw new DashError(400, 'invalid_event', 'the response holds no array of items at itemsPath');
  if (items.length > MAX_POLL_ITEMS) throw new DashError(400, 'invalid_event', `a poll takes at most ${MAX_POLL_ITEMS} items (got ${items.length})`);
  const context: EventContext = { pipelineId, receivedAt, paths, fallbackId: (item) => `poll:${contentId(item)}`, checkValues: true };
  return items.map((item: unknown, index) => {
    if (!isObject(item)) throw new DashError(400, 'invalid_event', `item ${index} is not a JSON object`);
    return toEvent(context, item, index, null);
  });
}
