import { Inject, Injectable, Logger } from '@nestjs/common';
import { DashError, JobName, logText, pollEvents, valueAtPath, type PollJobData } from '@dash/domain';
import { BacklogGate, DASH_CONFIG, outboundRequest, PipelinesRepository, type DashConfig, type LastPoll } from '@dash/infra';
import type { Job } from 'bullmq';
import { createHash } from 'node:crypto';
import { BufferService } from '../buffer/buffer.service';

// One poll, start to end of the response, and its size: what a source can make an ingestor hold.
const POLL_TIMEOUT_MS = 10_000;
const POLL_MAX_BYTES = 5 * 1024 * 1024;

const contentId = (item: unknown) => createHash('sha256').update(JSON.stringify(item)).digest('base64url').slice(0, 32);

/**
 * One poll of an HTTP source: fetch, take the items at `itemsPath`, ingest them as webhook
 * events (same id, time and type rules, same deduplication, same backlog gate), and record the outcome.
 */
@Injectable()
export class PollService {
  private readonly logger = new Logger(PollService.name);

  /** This capability's jobs on the `default` queue, by name (polls scheduled by the web app per poll source, or asked for now). */
  readonly jobs = {
    [JobName.Poll]: (job: Job<PollJobData>): Promise<LastPoll | null> => this.poll(job.data.pipelineId),
  };

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly pipelines: PipelinesRepository,
    // What a poll asks of them (a unit spec hands fakes).
    @Inject(BufferService) private readonly buffers: Pick<BufferService, 'add'>,
    @Inject(BacklogGate) private readonly gate: Pick<BacklogGate, 'check'>,
  ) {}

  async poll(pipelineId: string): Promise<LastPoll | null> {
    const pipeline = await this.pipelines.findById(pipelineId);
    if (!pipeline || pipeline.source.type !== 'poll') return null;
    const source = pipeline.source;
    const startedAt = Date.now();
    let result: LastPoll;
    try {
      const url = new URL(source.url);
      const cursor = pipeline.lastPoll?.cursor;
      if (source.cursor && cursor) url.searchParams.set(source.cursor.param, cursor);
      // Checked again here, at connection time: the address may have changed since the URL was saved.
      const response = await outboundRequest({ method: 'GET', url, headers: source.headers, allowPrivate: this.config.outbound.allowPrivate, timeoutMs: POLL_TIMEOUT_MS, maxBytes: POLL_MAX_BYTES });
      if (response.status < 200 || response.status >= 300) throw new Error(`the source answered ${response.status}`);
      let body: unknown;
      try {
        body = JSON.parse(response.body.toString('utf8'));
      } catch {
        throw new Error('the source did not answer JSON');
      }
      const paths = { eventIdPath: pipeline.eventIdPath, eventTimePath: pipeline.eventTimePath, eventTypePath: pipeline.eventTypePath };
      const events = pollEvents(pipelineId, valueAtPath(body, source.itemsPath ?? ''), paths, startedAt, contentId);
      // The same gate as webhooks: past the backlog limit the poll is recorded as refused
      // (backlog_full) and its cursor stays, so the next poll fetches these items again.
      if (events.length > 0) this.gate.check(pipelineId, events.length);
      await this.buffers.add(events);
      const nextCursor = source.cursor ? valueAtPath(body, source.cursor.path) : undefined;
      result = {
        at: new Date(startedAt).toISOString(),
        status: 'ok',
        items: events.length,
        error: null,
        cursor: typeof nextCursor === 'string' || typeof nextCursor === 'number' ? String(nextCursor) : (cursor ?? null),
      };
    } catch (error) {
      const message = error instanceof DashError ? `${error.code}: ${error.message}` : (error as Error).message;
      // The message can carry what the upstream sent (or its name): escaped, it stays one line.
      this.logger.warn(`poll of pipeline ${pipelineId} failed: ${logText(message, 500)}`);
      result = { at: new Date(startedAt).toISOString(), status: 'error', items: 0, error: message, cursor: pipeline.lastPoll?.cursor ?? null };
    }
    await this.pipelines.recordPoll(pipelineId, result);
    return result;
  }
}
