import { Inject, Injectable } from '@nestjs/common';
import { DashError, MAX_PAGE_BYTES, type EventPage, type PipelineStats } from '@dash/domain';
import { boundedEvent, emptyStats, PG_POOL, STATS_COLUMNS, STATS_FROM, toPipelineStats, type StatsRow } from '@dash/infra';
import type { Pool } from 'pg';

interface EventRow {
  seq: string;
  event_id: string;
  type: string | null;
  occurred_at: Date;
  received_at: Date;
  payload: unknown;
}

const encodeCursor = (row: EventRow) => Buffer.from(JSON.stringify([row.occurred_at.toISOString(), row.seq])).toString('base64url');

// PostgreSQL's bigint: a longer sequence would make the query fail (a 500) instead of a 400.
const MAX_SEQ = 9223372036854775807n;
// Cursor times are ISO 8601 UTC as this API writes them, years 0001 to 9999 (inside PostgreSQL's range).
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

function decodeCursor(cursor: string): [string, string] {
  try {
    const [time, seq] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof time === 'string' && CURSOR_TIME.test(time) && !Number.isNaN(Date.parse(time)) && !time.startsWith('0000') && typeof seq === 'string' && /^\d{1,19}$/.test(seq) && BigInt(seq) <= MAX_SEQ) return [time, seq];
  } catch {
    // fall through
  }
  throw new DashError(400, 'invalid_request', 'before is not a cursor returned by this API');
}

/** Bytes counted for a row besides its payload (ids, type, times, JSON punctuation). */
const ROW_OVERHEAD_BYTES = 512;

/** Reads of stored state: a pipeline's stats and its events, newest first. */
@Injectable()
export class StatsService {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async stats(pipelineId: string): Promise<PipelineStats> {
    const { rows } = await this.pool.query<StatsRow>(`SELECT ${STATS_COLUMNS} FROM ${STATS_FROM} WHERE pipeline_id = $1`, [pipelineId]);
    return rows[0] ? toPipelineStats(rows[0]) : emptyStats(pipelineId);
  }

  async events(pipelineId: string, options: { limit: number; before?: string; type?: string; eventId?: string }): Promise<EventPage> {
    const params: unknown[] = [pipelineId, options.limit + 1];
    let where = 'pipeline_id = $1';
    if (options.type !== undefined) {
      params.push(options.type);
      where += ` AND type = $${params.length}`;
    }
    if (options.eventId !== undefined) {
      // An exact id (the page's search box): the deliveries stored under it, usually one.
      params.push(options.eventId);
      where += ` AND event_id = $${params.length}`;
    }
    if (options.before !== undefined) {
      const [time, seq] = decodeCursor(options.before);
      params.push(time, seq);
      where += ` AND (occurred_at, seq) < ($${params.length - 1}::timestamptz, $${params.length}::bigint)`;
    }
    // A page stops early rather than exceed MAX_PAGE_BYTES: sizes are measured in the database and
    // only the payloads that fit are fetched (by the index), so the web never loads one it would drop.
    // The first row always fits: one event is at most WEBHOOK_MAX_BYTES.
    params.push(MAX_PAGE_BYTES);
    const { rows } = await this.pool.query<EventRow & { fits: boolean }>(
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
    while (size < rows.length && size < options.limit && rows[size].fits) size++;
    const page = rows.slice(0, size);
    return {
      // Payloads stored by older versions may nest too deep to serialize: sent as null, marked.
      items: page.map((row) => boundedEvent({ id: row.event_id, type: row.type, occurredAt: row.occurred_at.toISOString(), receivedAt: row.received_at.toISOString(), payload: row.payload })),
      next: rows.length > size ? encodeCursor(page[page.length - 1]) : null,
    };
  }
}
