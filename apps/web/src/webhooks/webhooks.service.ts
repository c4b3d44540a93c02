import { Inject, Injectable } from '@nestjs/common';
import { DashError, extractEvents, verifyWebhook, type BodyFormat } from '@dash/domain';
import { DASH_CONFIG, type DashConfig } from '@dash/infra';
import type { IncomingHttpHeaders } from 'node:http';
import { PipelineCache } from '../pipelines/pipeline-cache';
import { BacklogGate } from './backlog-gate';
import { IngestQueue } from './ingest-queue';

/** Deepest nesting of arrays and objects accepted in a body (real events are a few levels deep). */
export const MAX_JSON_DEPTH = 100;

function header(headers: IncomingHttpHeaders, name: string, repeated: ReadonlySet<string>): string | undefined {
  // A repeated header is ambiguous: treat it as absent rather than guess which one is signed.
  // (Node joins repeats of most headers into one string, so repeats are found in the raw headers.)
  if (repeated.has(name)) return undefined;
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

const SIGNATURE_HEADERS = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature']);

/** Which of the Standard Webhooks headers were sent more than once. */
export function repeatedHeaders(rawHeaders: readonly string[] | undefined): Set<string> {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (let i = 0; rawHeaders && i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (!SIGNATURE_HEADERS.has(name)) continue;
    if (seen.has(name)) repeated.add(name);
    seen.add(name);
  }
  return repeated;
}

/**
 * True when arrays/objects nest deeper than `max` anywhere in the JSON text. A byte scan (no
 * recursion): a body nested 100 000 levels deep would otherwise overflow the stack when the job is
 * serialized, and PostgreSQL would refuse it anyway.
 */
export function nestsDeeperThan(body: Buffer, max: number): boolean {
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
    else if (byte === 0x0a) depth = 0; // NDJSON: each line on its own
  }
  return false;
}

/** `application/json` or `application/x-ndjson` (parameters such as charset allowed), else 415. */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  const type = contentType?.split(';')[0].trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'application/x-ndjson') return 'ndjson';
  throw new DashError(415, 'unsupported_media_type', 'Content-Type must be application/json or application/x-ndjson');
}

/**
 * Intake: look the pipeline up, verify the Standard Webhooks signature over the raw body,
 * extract the events, check the backlog, and queue them durably. Nothing is stored unless
 * every step passes.
 */
@Injectable()
export class WebhooksService {
  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly pipelines: PipelineCache,
    private readonly gate: BacklogGate,
    private readonly queue: IngestQueue,
  ) {}

  async receive(pipelineId: string, headers: IncomingHttpHeaders, body: unknown, rawHeaders?: readonly string[]): Promise<{ accepted: number }> {
    const repeated = repeatedHeaders(rawHeaders);
    const format = bodyFormat(header(headers, 'content-type', repeated));
    if (!Buffer.isBuffer(body)) throw new DashError(400, 'invalid_json', 'the request has no body');
    const pipeline = await this.pipelines.get(pipelineId);
    if (!pipeline) throw new DashError(404, 'pipeline_not_found', `no pipeline ${pipelineId}`);

    const receivedAt = Date.now();
    const webhookHeaders = { id: header(headers, 'webhook-id', repeated), timestamp: header(headers, 'webhook-timestamp', repeated), signature: header(headers, 'webhook-signature', repeated) };
    verifyWebhook(this.pipelines.keysOf(pipeline, receivedAt), webhookHeaders, body, this.config.webhooks.toleranceSeconds, receivedAt);
    if (webhookHeaders.id && webhookHeaders.id.length > 255) throw new DashError(400, 'invalid_event', 'webhook-id is longer than 255 characters');
    // A stage boundary: the requests of one turn (see TurnBatch) verify their signatures back to back,
    // then parse their bodies back to back, each step with warm caches (docs/performance.md).
    await undefined;

    if (nestsDeeperThan(body, MAX_JSON_DEPTH)) throw new DashError(400, 'invalid_event', `the body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`);

    const { entity } = pipeline;
    const events = extractEvents({
      pipelineId: entity.id,
      webhookId: webhookHeaders.id as string,
      format,
      body,
      receivedAt,
      paths: { eventIdPath: entity.eventIdPath, eventTimePath: entity.eventTimePath, eventTypePath: entity.eventTypePath },
    });
    this.gate.check(entity.id, events.length);
    await this.queue.enqueue(events);
    return { accepted: events.length };
  }
}
