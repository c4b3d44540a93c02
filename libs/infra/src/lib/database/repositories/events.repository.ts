import { Inject, Injectable } from '@nestjs/common';
import { eventRecordJson, filterScalars, LruCache, MAX_PAGE_BYTES, type IngestEvent, type PathFilter, type PipelineStats } from '@dash/domain';
import type { Pool } from 'pg';
import { PG_POOL, STORAGE_MODE } from '../database.tokens';
import type { ResolvedStorageMode } from '../migrations/1732752000001-event-storage';
import { toPipelineStats, type StatsRow } from '../stats';
import { preGroup, type DimensionPlan } from './dimension-groups';
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
  /** Payload filters (AND): the JSON at each path equals one of `filterScalars(value)`. */
  where?: readonly PathFilter[];
  /** Rows strictly older than this position (a decoded cursor: ISO time, seq). */
  before?: [time: string, seq: string];
  /** The work bound of a search (tests set a small one); SEARCH_BUDGET by default. */
  budget?: SearchBudget;
}

/** How much one search may examine: rows, and stored payload bytes when it filters on payloads. */
export interface SearchBudget {
  rows: number;
  payloadBytes: number;
}

/**
 * A search reads at most 10 000 rows of the pipeline (by its time index) and, when it filters on
 * payloads, at most 64 MiB of them as stored: tens of milliseconds, whatever the pipeline holds.
 */
export const SEARCH_BUDGET: SearchBudget = { rows: 10_000, payloadBytes: 64 * 1024 * 1024 };

/** A position in a pipeline's events, newest first: pages continue strictly after it. */
export interface EventPosition {
  occurred_at: Date;
  seq: string;
}

export interface StoredEventPage {
  rows: StoredEventRow[];
  /** Where the next page starts; null when nothing older is left to look at. */
  next: EventPosition | null;
  /** The search used up its budget before filling the page: `next` resumes it after the last row examined. */
  partial: boolean;
}

type WriteRow = StatsRow & { orphaned: string | null; dimensions: string[] | null; measures: string[] | null };

/** A row of the page statement: an event, or the one `end` row with what the search examined. */
type PageRow = StoredEventRow & { kind: 'row' | 'end'; hits: string | null; scanned: string | null; examined: string | null };

/** Bytes counted for a row besides its payload (ids, type, times, JSON punctuation). */
const ROW_OVERHEAD_BYTES = 512;

/**
 * The `events` table: the writer's batch statement (see events.sql.ts) and the reads of stored
 * events. Plain `pg`: this is the hot path.
 */
@Injectable()
export class EventsRepository {
  private readonly statement: { name: string; text: string };
  /**
   * Each pipeline's declared paths as the last batch statement saw them (it returns them): the
   * next batches are pre-aggregated by them in Node (the statement checks they still hold).
   * Bounded; a pipeline not here has its first batch's payloads read in SQL.
   */
  private readonly plans = new LruCache<string, DimensionPlan>(10_000);

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
      const groups = preGroup(events, (pipelineId) => this.plans.get(pipelineId));
      const { rows } = await client.query<WriteRow>({ ...this.statement, values: [`[${events.map(eventRecordJson).join(',')}]`, JSON.stringify(groups)] });
      const stats: PipelineStats[] = [];
      const orphaned = new Map<string, number>();
      for (const row of rows) {
        if (row.orphaned === null) {
          stats.push(toPipelineStats(row));
          this.plans.set(row.pipeline_id, { dimensions: row.dimensions ?? [], measures: row.measures ?? [] });
        } else orphaned.set(row.pipeline_id, Number(row.orphaned));
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
   * A pipeline's events, newest first, optionally filtered by type, id and payload. Bounded work:
   * a filtered page examines at most `budget` rows (walking the (pipeline_id, occurred_at, seq)
   * index from the cursor) and stops there with `partial` and a cursor after the last row examined.
   * A page also stops early rather than exceed MAX_PAGE_BYTES: sizes are measured one row at a time
   * (a recursive walk that ends at the first row past the bound), so only payloads that are sent,
   * plus one, are ever measured. The first row always fits: one event is at most WEBHOOK_MAX_BYTES.
   */
  async page(pipelineId: string, query: EventPageQuery): Promise<StoredEventPage> {
    const filtered = query.type !== undefined || query.eventId !== undefined || (query.where?.length ?? 0) > 0;
    const budget = query.budget ?? SEARCH_BUDGET;
    // Unfiltered, the first limit + 1 rows are the page: no budget needed.
    const params: unknown[] = [pipelineId, filtered ? budget.rows : query.limit + 1, budget.payloadBytes, query.limit + 1, MAX_PAGE_BYTES, query.limit];
    const param = (value: unknown) => `$${params.push(value)}`;
    let range = '';
    if (query.before !== undefined) range = ` AND (occurred_at, seq) < (${param(query.before[0])}::timestamptz, ${param(query.before[1])}::bigint)`;
    const columns: string[] = [];
    if (query.type !== undefined) columns.push(`type = ${param(query.type)}`);
    if (query.eventId !== undefined) columns.push(`event_id = ${param(query.eventId)}`);
    const payload = (query.where ?? []).map((filter) => `payload #> ${param(filter.path.split('.'))}::text[] = ANY(${param(filterScalars(filter.value))}::jsonb[])`);
    // Payload filters read the payloads: the budget then counts their stored bytes too (pg_column_size
    // reads a stored value's header, never the value).
    const bytesBefore = payload.length > 0 ? 'sum(pg_column_size(payload)) OVER (ORDER BY occurred_at DESC, seq DESC) - pg_column_size(payload)' : '0';
    const { rows } = await this.pool.query<PageRow>(
      `WITH RECURSIVE scanned AS MATERIALIZED (
         SELECT seq, occurred_at, ${columns.length > 0 ? columns.join(' AND ') : 'true'} AS col_ok, ${bytesBefore} AS bytes_before${payload.length > 0 ? ', payload' : ''}
         FROM (
           SELECT seq, occurred_at, type, event_id${payload.length > 0 ? ', payload' : ''}
           FROM events WHERE pipeline_id = $1${range} ORDER BY occurred_at DESC, seq DESC LIMIT $2
         ) s
       ), hits AS MATERIALIZED (
         SELECT seq, occurred_at FROM scanned
         WHERE bytes_before <= $3 AND col_ok${payload.map((condition) => ` AND ${condition}`).join('')}
         ORDER BY occurred_at DESC, seq DESC LIMIT $4
       ), ordered AS (
         -- The hits as arrays, so that the walk reaches its next row in constant time.
         SELECT array_agg(occurred_at ORDER BY occurred_at DESC, seq DESC) AS times, array_agg(seq ORDER BY occurred_at DESC, seq DESC) AS seqs, count(*) AS hits FROM hits
       ), walk (n, total) AS (
         SELECT 0, 0::bigint
         UNION ALL
         SELECT w.n + 1, w.total + ${ROW_OVERHEAD_BYTES} + (SELECT octet_length(e.payload::text) FROM events e WHERE e.pipeline_id = $1 AND e.occurred_at = o.times[w.n + 1] AND e.seq = o.seqs[w.n + 1])
         FROM walk w, ordered o WHERE w.n < LEAST(o.hits, $6) AND w.total <= $5
       )
       SELECT 'row' AS kind, e.seq, e.event_id, e.type, e.occurred_at, e.received_at, e.payload, NULL::bigint AS hits, NULL::bigint AS scanned, NULL::bigint AS examined
       FROM walk w, ordered o, events e
       WHERE w.n >= 1 AND (w.n = 1 OR w.total <= $5) AND e.pipeline_id = $1 AND e.occurred_at = o.times[w.n] AND e.seq = o.seqs[w.n]
       UNION ALL
       SELECT 'end', l.seq, NULL, NULL, l.occurred_at, NULL, NULL, (SELECT hits FROM ordered), (SELECT count(*) FROM scanned), (SELECT count(*) FROM scanned WHERE bytes_before <= $3)
       FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT seq, occurred_at FROM scanned WHERE bytes_before <= $3 ORDER BY occurred_at, seq LIMIT 1) l ON true`,
      params,
    );
    const end = rows.find((row) => row.kind === 'end') as PageRow;
    const page = rows
      .filter((row) => row.kind === 'row')
      .sort((a, b) => b.occurred_at.getTime() - a.occurred_at.getTime() || Number(BigInt(b.seq) - BigInt(a.seq)))
      .map(({ seq, event_id, type, occurred_at, received_at, payload }): StoredEventRow => ({ seq, event_id, type, occurred_at, received_at, payload }));
    const last = page.at(-1);
    // Matches left out (past the limit or the size bound): the next page starts after the last one sent.
    if (last !== undefined && Number(end.hits) > page.length) return { rows: page, next: { occurred_at: last.occurred_at, seq: last.seq }, partial: false };
    // Rows may remain that the budget kept this search from looking at.
    const stopped = Number(end.examined) < Number(end.scanned) || Number(end.scanned) === params[1];
    if (filtered && stopped) return { rows: page, next: { occurred_at: end.occurred_at, seq: end.seq }, partial: true };
    return { rows: page, next: null, partial: false };
  }
}
