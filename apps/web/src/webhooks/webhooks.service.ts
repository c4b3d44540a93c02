import { Inject, Injectable } from '@nestjs/common';
import { DashError, extractEvents, verifyWebhook, type BodyFormat } from '@dash/domain';
import { DASH_CONFIG, type DashConfig } from '@dash/infra';
import type { IncomingHttpHeaders } from 'node:http';
import { PipelineCache } from '../pipelines/pipeline-cache';
import { BacklogGate } from './backlog-gate';
import { IngestQueue } from './ingest-queue';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  // A repeated header is ambiguous: treat it as absent rather than guess which one is signed.
  return typeof value === 'string' ? value : undefined;
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

  async receive(pipelineId: string, headers: IncomingHttpHeaders, body: unknown): Promise<{ accepted: number }> {
    const format = bodyFormat(header(headers, 'content-type'));
    if (!Buffer.isBuffer(body)) throw new DashError(400, 'invalid_json', 'the request has no body');
    const pipeline = await this.pipelines.get(pipelineId);
    if (!pipeline) throw new DashError(404, 'pipeline_not_found', `no pipeline ${pipelineId}`);

    const receivedAt = Date.now();
    const webhookHeaders = { id: header(headers, 'webhook-id'), timestamp: header(headers, 'webhook-timestamp'), signature: header(headers, 'webhook-signature') };
    verifyWebhook(this.pipelines.keysOf(pipeline, receivedAt), webhookHeaders, body, this.config.webhooks.toleranceSeconds, receivedAt);
    if (webhookHeaders.id && webhookHeaders.id.length > 255) throw new DashError(400, 'invalid_event', 'webhook-id is longer than 255 characters');

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
