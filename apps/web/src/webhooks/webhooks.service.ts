import { Inject, Injectable } from '@nestjs/common';
import { DashError, extractEvents, MAX_JSON_DEPTH, MAX_NUMBER_EXPONENT, MAX_NUMBER_LENGTH, scanJsonText, verifyWebhook, type BodyFormat, type JsonTextProblem, type WebhookHeaders } from '@dash/domain';
import { BacklogGate, DASH_CONFIG, type DashConfig } from '@dash/infra';
import type { IncomingHttpHeaders } from 'node:http';
import { PipelineCache } from '../pipelines/pipeline-cache';
import { IngestQueue } from './ingest-queue';

// The byte scan and its limit live in the domain (poll items and replies use them too); re-exported here for the intake's callers.
export { MAX_JSON_DEPTH, nestsDeeperThan } from '@dash/domain';

function header(headers: IncomingHttpHeaders, name: string, repeated: ReadonlySet<string>): string | undefined {
  // A repeated header is ambiguous: treat it as absent rather than guess which one is signed.
  // (Node joins repeats of most headers into one string, so repeats are found in the raw headers.)
  if (repeated.has(name)) return undefined;
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

const SIGNATURE_HEADERS = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'svix-id', 'svix-timestamp', 'svix-signature']);

/**
 * The Standard Webhooks headers, or their Svix-branded twins (`svix-id`, … : same scheme, sent by
 * Clerk, Resend and other Svix-powered senders). One set is read whole, never mixed: when any
 * `webhook-*` header is there, that set decides (a repeated one counts as missing, with no fallback
 * to the other set), else the `svix-*` set.
 */
export function signatureHeaders(headers: IncomingHttpHeaders, repeated: ReadonlySet<string>): WebhookHeaders {
  const standard = headers['webhook-id'] !== undefined || headers['webhook-timestamp'] !== undefined || headers['webhook-signature'] !== undefined;
  if (standard) return { id: header(headers, 'webhook-id', repeated), timestamp: header(headers, 'webhook-timestamp', repeated), signature: header(headers, 'webhook-signature', repeated) };
  return { id: header(headers, 'svix-id', repeated), timestamp: header(headers, 'svix-timestamp', repeated), signature: header(headers, 'svix-signature', repeated) };
}

/** Which of the signature headers (either set) were sent more than once. */
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

/** `application/json` or `application/x-ndjson` (parameters such as charset allowed), else 415. */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  const type = contentType?.split(';')[0].trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'application/x-ndjson') return 'ndjson';
  throw new DashError(415, 'unsupported_media_type', 'Content-Type must be application/json or application/x-ndjson');
}

function describeTextProblem(problem: JsonTextProblem, format: BodyFormat): string {
  const where = format === 'ndjson' ? `line ${problem.line}` : 'the body';
  if (problem.kind === 'depth') return `${where} nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`;
  return (
    `${where} holds the number ${problem.literal} (at byte ${problem.offset}), which PostgreSQL cannot store faithfully: ` +
    `numbers with an exponent beyond ±${MAX_NUMBER_EXPONENT} or longer than ${MAX_NUMBER_LENGTH} characters are refused`
  );
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
    // Only what intake asks of each (a unit spec hands fakes).
    @Inject(PipelineCache) private readonly pipelines: Pick<PipelineCache, 'get' | 'keysOf'>,
    @Inject(BacklogGate) private readonly gate: Pick<BacklogGate, 'check'>,
    @Inject(IngestQueue) private readonly queue: Pick<IngestQueue, 'enqueue'>,
  ) {}

  async receive(pipelineId: string, headers: IncomingHttpHeaders, body: unknown, rawHeaders?: readonly string[]): Promise<{ accepted: number }> {
    const repeated = repeatedHeaders(rawHeaders);
    const format = bodyFormat(header(headers, 'content-type', repeated));
    if (!Buffer.isBuffer(body)) throw new DashError(400, 'invalid_json', 'the request has no body');
    const pipeline = await this.pipelines.get(pipelineId);
    if (!pipeline) throw new DashError(404, 'pipeline_not_found', `no pipeline ${pipelineId}`);

    const receivedAt = Date.now();
    const webhookHeaders = signatureHeaders(headers, repeated);
    verifyWebhook(this.pipelines.keysOf(pipeline, receivedAt), webhookHeaders, body, this.config.webhooks.toleranceSeconds, receivedAt);
    if (webhookHeaders.id && webhookHeaders.id.length > 255) throw new DashError(400, 'invalid_event', 'webhook-id is longer than 255 characters');
    // A stage boundary: the requests of one turn (see TurnBatch) verify their signatures back to back,
    // then parse their bodies back to back, each step with warm caches (docs/performance.md).
    await undefined;

    // One byte scan before parsing: nesting, and number literals PostgreSQL would refuse or blow up
    // (the payload is stored as the sender's text). Strings are checked on the parsed events, where
    // the scan saw an escape that could spell what jsonb refuses.
    const { problem, plain } = scanJsonText(body, MAX_JSON_DEPTH, format === 'ndjson', true);
    if (problem) throw new DashError(400, 'invalid_event', describeTextProblem(problem, format));

    const { entity } = pipeline;
    const events = extractEvents({
      pipelineId: entity.id,
      webhookId: webhookHeaders.id as string,
      format,
      body,
      receivedAt,
      // A body with no \u escape and no huge number holds nothing jsonb refuses: no walk per event.
      plain,
      paths: { eventIdPath: entity.eventIdPath, eventTimePath: entity.eventTimePath, eventTypePath: entity.eventTypePath },
    });
    this.gate.check(entity.id, events.length);
    await this.queue.enqueue(events);
    return { accepted: events.length };
  }
}
