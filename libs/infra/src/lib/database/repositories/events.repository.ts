import { Inject, Injectable } from '@nestjs/common';
import { eventRecordJson, MAX_PAGE_BYTES, type IngestEvent, type PipelineStats } from '@dash/domain';
import type { Pool } from 'pg';
import { PG_POOL, STORAGE_MODE } from '../database.tokens';
import type { ResolvedStorageMode } from '../migrations/1732752000001-event-storage';
import { toPipelineStats, type StatsRow } from '../stats';
import { writeBatchSql } from './events.sql';
import { isDataError } from './pg-errors';

/** What one batch statement did: the new stats of each pipeline that stored events, and orphans per pipeline. */
export interface BatchWritten {
  stats: PipelineStats[];
  orphaned: Map<string, number>;
}

/** A stored event as read for a page, with its position (`occurred_at`, `seq`) for the cursor. */
export interface StoredEventRow {
  seq: string;
  event_id: string;
  type: string | null;
  occurred_at: Date;
  received_at: Date;
  payload: unknown;
}

export interface EventPageQuery {
  limit: number;
  type?: string;
  /** An exact event id: the deliveries stored under it, usually one. */
  eventId?: string;
  /** Rows strictly older than this position (a decoded cursor: ISO time, seq). */
  before?: [time: string, seq: string];
}

type WriteRow = StatsRow & { orphaned: string | null };

/** Bytes counted for a row besides its payload (ids, type, times, JSON punctuation). */
const ROW_OVERHEAD_BYTES = 512;

/**
 * The `events` table: the writer's batch statement (see events.sql.ts) and the reads of stored
 * events. Plain `pg`: this is the hot path.
 */
@Injectable()
export class EventsRepository {
  private readonly statement: { name: string; text: string };

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(STORAGE_MODE) mode: ResolvedStorageMode,
  ) {
    this.statement = { name: `dash_write_batch_${mode}`, text: writeBatchSql(mode) };
  }

  /** Runs the batch statement once (its own transaction); throws what the database throws. */
  async writeBatch(events: readonly IngestEvent[]): Promise<BatchWritten> {
    const client = await this.pool.connect();
    let broken = false;
    // A connection lost mid-query emits 'error' on the checked-out client (the pool only
    // listens to idle ones): without a listener it would crash the process.
    const onError = () => (broken = true);
    client.on('error', onError);
    try {
      const { rows } = await client.query<WriteRow>({ ...this.statement, values: [`[${events.map(eventRecordJson).join(',')}]`] });
      const stats: PipelineStats[] = [];
      const orphaned = new Map<string, number>();
      for (const row of rows) {
        if (row.orphaned === null) stats.push(toPipelineStats(row));
        else orphaned.set(row.pipeline_id, Number(row.orphaned));
      }
      return { stats, orphaned };
    } catch (error) {
      // A data error leaves the connection (and its prepared statement) fit for the next try.
      broken = broken || !isDataError(error);
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * A pipeline's events, newest first; `more` when older ones remain. A page stops early rather
   * than exceed MAX_PAGE_BYTES: sizes are measured in the database and only the payloads that fit
   * are fetched (by the index), so the web never loads one it would drop. The first row always
   * fits: one event is at most WEBHOOK_MAX_BYTES.
   */
  async page(pipelineId: string, query: EventPageQuery): Promise<{ rows: StoredEventRow[]; more: boolean }> {
    const params: unknown[] = [pipelineId, query.limit + 1];
    let where = 'pipeline_id = $1';
    if (query.type !== undefined) {
      params.push(query.type);
      where += ` AND type = $${params.length}`;
    }
    if (query.eventId !== undefined) {
      params.push(query.eventId);
      where += ` AND event_id = $${params.length}`;
    }
    if (query.before !== undefined) {
      params.push(...query.before);
      where += ` AND (occurred_at, seq) < ($${params.length - 1}::timestamptz, $${params.length}::bigint)`;
    }
    params.push(MAX_PAGE_BYTES);
    const { rows } = await this.pool.query<StoredEventRow & { fits: boolean }>(
      `WITH page AS (
         SELECT seq, event_id, type, occurred_at, received_at, octet_length(payload::text) AS bytes
         FROM events WHERE ${where} ORDER BY occurred_at DESC, seq DESC LIMIT $2
       ), sized AS (
         SELECT *, row_number() OVER w = 1 OR sum(bytes + ${ROW_OVERHEAD_BYTES}) OVER w <= $${params.length} AS fits
         FROM page WINDOW w AS (ORDER BY occurred_at DESC, seq DESC)
       )
       SELECT s.seq, s.event_id, s.type, s.occurred_at, s.received_at, s.fits,
         CASE WHEN s.fits THEN (SELECT e.payload FROM events e WHERE e.pipeline_id = $1 AND e.occurred_at = s.occurred_at AND e.seq = s.seq) END AS payload
       FROM sized s ORDER BY s.occurred_at DESC, s.seq DESC`,
      params,
    );
    let size = 0;
    while (size < rows.length && size < query.limit && rows[size].fits) size++;
    return { rows: rows.slice(0, size), more: rows.length > size };
  }
}
