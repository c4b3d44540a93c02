import { Inject, Injectable } from '@nestjs/common';
import { DashError, type PipelineStats, type StoredEvent } from '@dash/domain';
import { emptyStats, PG_POOL, STATS_COLUMNS, toPipelineStats, type StatsRow } from '@dash/infra';
import type { Pool } from 'pg';

export interface EventPage {
  items: StoredEvent[];
  next: string | null;
}

interface EventRow {
  seq: string;
  event_id: string;
  type: string | null;
  occurred_at: Date;
  received_at: Date;
  payload: unknown;
}

const encodeCursor = (row: EventRow) => Buffer.from(JSON.stringify([row.occurred_at.toISOString(), row.seq])).toString('base64url');

function decodeCursor(cursor: string): [string, string] {
  try {
    const [time, seq] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof time === 'string' && !Number.isNaN(Date.parse(time)) && typeof seq === 'string' && /^\d{1,19}$/.test(seq)) return [time, seq];
  } catch {
    // fall through
  }
  throw new DashError(400, 'invalid_request', 'before is not a cursor returned by this API');
}

/** Reads of stored state: a pipeline's stats and its events, newest first. */
@Injectable()
export class StatsService {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async stats(pipelineId: string): Promise<PipelineStats> {
    const { rows } = await this.pool.query<StatsRow>(`SELECT ${STATS_COLUMNS} FROM pipeline_stats WHERE pipeline_id = $1`, [pipelineId]);
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
    const { rows } = await this.pool.query<EventRow>(
      `SELECT seq, event_id, type, occurred_at, received_at, payload FROM events WHERE ${where} ORDER BY occurred_at DESC, seq DESC LIMIT $2`,
      params,
    );
    const page = rows.slice(0, options.limit);
    return {
      items: page.map((row) => ({ id: row.event_id, type: row.type, occurredAt: row.occurred_at.toISOString(), receivedAt: row.received_at.toISOString(), payload: row.payload })),
      next: rows.length > options.limit ? encodeCursor(page[page.length - 1]) : null,
    };
  }
}
