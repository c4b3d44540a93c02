import { Injectable } from '@nestjs/common';
import { DashError, type EventPage, type PipelineStats } from '@dash/domain';
import { boundedEvent, EventsRepository, StatsRepository, type EventPosition } from '@dash/infra';
import type { EventsQuery } from './reading.schemas';

const encodeCursor = (row: EventPosition) => Buffer.from(JSON.stringify([row.occurred_at.toISOString(), row.seq])).toString('base64url');

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

/** Reads of stored state: a pipeline's stats and its events, newest first. */
@Injectable()
export class StatsService {
  constructor(
    private readonly pipelineStats: StatsRepository,
    private readonly storedEvents: EventsRepository,
  ) {}

  async stats(pipelineId: string): Promise<PipelineStats> {
    return this.pipelineStats.stats(pipelineId);
  }

  async events(pipelineId: string, options: EventsQuery): Promise<EventPage> {
    const before = options.before === undefined ? undefined : decodeCursor(options.before);
    // A page may stop before `limit` (MAX_PAGE_BYTES, or a search's work bound): `next` then points past what was read.
    const { rows, next, partial } = await this.storedEvents.page(pipelineId, { limit: options.limit, type: options.type, eventId: options.eventId, where: options.where, before });
    return {
      // Payloads stored by older versions may nest too deep to serialize: sent as null, marked.
      items: rows.map((row) => boundedEvent({ id: row.event_id, type: row.type, occurredAt: row.occurred_at.toISOString(), receivedAt: row.received_at.toISOString(), payload: row.payload })),
      next: next === null ? null : encodeCursor(next),
      partial,
    };
  }
}
