import { Inject, Injectable, Logger } from '@nestjs/common';
import { DashError, logText, pollEvents, valueAtPath, type PipelineSource } from '@dash/domain';
import { DASH_CONFIG, outboundRequest, PG_POOL, type DashConfig, type LastPoll } from '@dash/infra';
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { BufferService } from '../buffer/buffer.service';

interface PollRow {
  source: PipelineSource;
  event_id_path: string;
  event_time_path: string;
  event_type_path: string;
  last_poll: LastPoll | null;
}

// One poll, start to end of the response, and its size: what a source can make an ingestor hold.
const POLL_TIMEOUT_MS = 10_000;
const POLL_MAX_BYTES = 5 * 1024 * 1024;

const contentId = (item: unknown) => createHash('sha256').update(JSON.stringify(item)).digest('base64url').slice(0, 32);

/**
 * One poll of an HTTP source: fetch, take the items at `itemsPath`, ingest them as webhook
 * events (same id, time and type rules, same deduplication), and record the outcome.
 */
@Injectable()
export class PollService {
  private readonly logger = new Logger(PollService.name);

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly buffers: BufferService,
  ) {}

  async poll(pipelineId: string): Promise<LastPoll | null> {
    const { rows } = await this.pool.query<PollRow>('SELECT source, event_id_path, event_time_path, event_type_path, last_poll FROM pipelines WHERE id = $1', [pipelineId]);
    const pipeline = rows[0];
    if (!pipeline || pipeline.source.type !== 'poll') return null;
    const source = pipeline.source;
    const startedAt = Date.now();
    let result: LastPoll;
    try {
      const url = new URL(source.url);
      const cursor = pipeline.last_poll?.cursor;
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
      const paths = { eventIdPath: pipeline.event_id_path, eventTimePath: pipeline.event_time_path, eventTypePath: pipeline.event_type_path };
      const events = pollEvents(pipelineId, valueAtPath(body, source.itemsPath ?? ''), paths, startedAt, contentId);
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
      result = { at: new Date(startedAt).toISOString(), status: 'error', items: 0, error: message, cursor: pipeline.last_poll?.cursor ?? null };
    }
    await this.pool.query('UPDATE pipelines SET last_poll = $2 WHERE id = $1', [pipelineId, JSON.stringify(result)]);
    return result;
  }
}
