import { Inject, Injectable } from '@nestjs/common';
import { eventRecordJson, MAX_PAGE_BYTES, type IngestEvent } from '@dash/domain';
import type { Pool } from 'pg';
import { PG_POOL } from '../database.tokens';

/** One row of `ingest_failures`: the event as JSON text (`eventRecordJson`), as the database refused it. */
export interface FailureRow {
  /** The row's own id (bigint as text): the tie-breaker of the list's order. */
  id: string;
  event_id: string;
  event: string;
  reason: string;
  attempts: number;
  created_at: Date;
  /** `created_at` in microseconds (ISO 8601 UTC), for a cursor that compares exactly. */
  cursor_at: string;
}

/**
 * Records an event the database refused. When its pipeline is gone too, there is no failure
 * list to put it in (ingest_failures follows its pipeline): it goes to orphaned_events instead,
 * without its payload (which the database refused), so it is still not dropped silently.
 */
const RECORD_FAILURE = `
  WITH failure AS (
    INSERT INTO ingest_failures (pipeline_id, event_id, event, reason)
    SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM pipelines WHERE id = $1)
    ON CONFLICT (pipeline_id, event_id) DO UPDATE SET
      event = excluded.event, reason = excluded.reason,
      attempts = ingest_failures.attempts + 1, created_at = now()
  )
  INSERT INTO orphaned_events (pipeline_id, event_id, reason)
  SELECT $1, $2, 'pipeline_not_found (and refused: ' || $4 || ')' WHERE NOT EXISTS (SELECT 1 FROM pipelines WHERE id = $1)
  ON CONFLICT (pipeline_id, event_id) DO NOTHING`;

/** `ingest_failures` (events the database refused) and, for refused events of gone pipelines, `orphaned_events`. */
@Injectable()
export class FailuresRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Records (or records again: attempts + 1, new reason) an event the database refused. */
  async record(event: IngestEvent, reason: string): Promise<void> {
    // The event is kept as JSON text: the database may refuse it as jsonb (that can be the reason).
    const safeId = event.id.replaceAll('\u0000', '\uFFFD');
    await this.pool.query(RECORD_FAILURE, [event.pipelineId, safeId, eventRecordJson(event), reason]);
  }

  /**
   * Newest first; `more` when older ones remain. A page stops early rather than exceed
   * MAX_PAGE_BYTES: sizes come from the database (`octet_length` of a text reads its header, it
   * does not load it) and only the records that fit are fetched (`event` is null past them).
   */
  async page(pipelineId: string, limit: number, before?: [at: string, id: string]): Promise<{ rows: FailureRow[]; more: boolean }> {
    const params: unknown[] = [pipelineId, limit + 1, MAX_PAGE_BYTES];
    let where = 'pipeline_id = $1';
    if (before !== undefined) {
      params.push(...before);
      where += ` AND (created_at, id) < ($4::timestamptz, $5::bigint)`;
    }
    const { rows } = await this.pool.query<FailureRow & { fits: boolean }>(
      `WITH page AS (
         SELECT id, event_id, reason, attempts, created_at, octet_length(event) AS bytes
         FROM ingest_failures WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $2
       ), sized AS (
         SELECT *, row_number() OVER w = 1 OR sum(bytes + octet_length(reason) + 256) OVER w <= $3 AS fits
         FROM page WINDOW w AS (ORDER BY created_at DESC, id DESC)
       )
       SELECT s.id, s.event_id, s.reason, s.attempts, s.created_at, s.fits,
         to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at,
         CASE WHEN s.fits THEN (SELECT f.event FROM ingest_failures f WHERE f.id = s.id) END AS event
       FROM sized s ORDER BY s.created_at DESC, s.id DESC`,
      params,
    );
    let size = 0;
    while (size < rows.length && size < limit && rows[size].fits) size++;
    return { rows: rows.slice(0, size), more: rows.length > size };
  }

  async count(pipelineId: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM ingest_failures WHERE pipeline_id = $1', [pipelineId]);
    return Number(rows[0].n);
  }

  /** The oldest `limit` failures of a pipeline (what one replay sends). */
  async oldest(pipelineId: string, limit: number): Promise<Array<Pick<FailureRow, 'event_id' | 'event' | 'attempts'>>> {
    const { rows } = await this.pool.query<FailureRow>(
      'SELECT event_id, event, reason, attempts, created_at FROM ingest_failures WHERE pipeline_id = $1 ORDER BY id LIMIT $2',
      [pipelineId, limit],
    );
    return rows;
  }

  /** Removes one failure of this pipeline (by its event id); false when it has none with that id. */
  async discard(pipelineId: string, eventId: string): Promise<boolean> {
    // Ids are stored with NUL replaced (see record): the same here, and PostgreSQL never sees a NUL.
    const { rowCount } = await this.pool.query('DELETE FROM ingest_failures WHERE pipeline_id = $1 AND event_id = $2', [pipelineId, eventId.replaceAll('\u0000', '\uFFFD')]);
    return (rowCount ?? 0) > 0;
  }

  /** Which of these events are still listed, with their attempts. */
  async attempts(pipelineId: string, eventIds: readonly string[]): Promise<Array<{ event_id: string; attempts: number }>> {
    const { rows } = await this.pool.query<{ event_id: string; attempts: number }>(
      'SELECT event_id, attempts FROM ingest_failures WHERE pipeline_id = $1 AND event_id = ANY($2)',
      [pipelineId, eventIds],
    );
    return rows;
  }
}
