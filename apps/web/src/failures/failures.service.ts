import { Inject, Injectable } from '@nestjs/common';
import type { IngestEvent } from '@dash/domain';
import { PG_POOL } from '@dash/infra';
import type { Pool } from 'pg';
import { IngestQueue } from '../webhooks/ingest-queue';

/** One event the database refused, as listed by the API. */
export interface FailureView {
  id: string;
  reason: string;
  attempts: number;
  failedAt: string;
  /** The event as it was accepted (type, times, payload), or null if its record is unreadable. */
  event: { type: string | null; occurredAt: string; receivedAt: string; payload: unknown } | null;
}

export interface ReplayResult {
  /** Failures sent through the queue again. */
  replayed: number;
  /** Now stored (or found already stored): removed from the list. */
  stored: number;
  /** Refused again: still listed, with the new reason and one more attempt. */
  failed: number;
  /** Not settled when the answer was given (no ingestor running, or a slow database). */
  pending: number;
}

interface FailureRow {
  event_id: string;
  event: string;
  reason: string;
  attempts: number;
  created_at: Date;
}

/** At most this many failures are replayed by one request (the rest by the next one). */
export const MAX_REPLAY = 1000;
const SETTLE_TIMEOUT_MS = 20_000;
const POLL_MS = 200;

/** A failed event as recorded by the writer (`eventRecordJson`): its payload inline. */
type EventRecord = Omit<IngestEvent, 'payloadJson'> & { payload: unknown };

function parseEvent(text: string): EventRecord | null {
  try {
    const event = JSON.parse(text) as EventRecord;
    return event && typeof event.id === 'string' && typeof event.pipelineId === 'string' ? event : null;
  } catch {
    return null;
  }
}

function toIngestEvent({ payload, ...event }: EventRecord): IngestEvent {
  return { ...event, payloadJson: JSON.stringify(payload) };
}

const iso = (ms: unknown) => (typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : '');

/**
 * Events the writer isolated and recorded in `ingest_failures` (one bad event never fails its
 * batch). Replay sends them through the ordinary queue again; the writer removes a failure
 * when its event is stored, and records it again (attempts + 1, new reason) when it is refused
 * again, so a replay can never lose or duplicate an event.
 */
@Injectable()
export class FailuresService {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly queue: IngestQueue,
  ) {}

  async list(pipelineId: string, limit: number): Promise<{ items: FailureView[]; total: number }> {
    const [{ rows }, total] = await Promise.all([
      this.pool.query<FailureRow>(
        'SELECT event_id, event, reason, attempts, created_at FROM ingest_failures WHERE pipeline_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2',
        [pipelineId, limit],
      ),
      this.count(pipelineId),
    ]);
    return { items: rows.map(toView), total };
  }

  async replay(pipelineId: string): Promise<ReplayResult> {
    const { rows } = await this.pool.query<FailureRow>(
      'SELECT event_id, event, reason, attempts, created_at FROM ingest_failures WHERE pipeline_id = $1 ORDER BY id LIMIT $2',
      [pipelineId, MAX_REPLAY],
    );
    const before = new Map(rows.map((row) => [row.event_id, row.attempts]));
    const events = rows
      .map((row) => parseEvent(row.event))
      .filter((event): event is EventRecord => event !== null && event.pipelineId === pipelineId)
      .map(toIngestEvent);
    if (events.length === 0) return { replayed: 0, stored: 0, failed: 0, pending: 0 };
    // The same path as a webhook: durably queued (or 503), counted in the backlog.
    await this.queue.enqueue(events);

    const ids = events.map((event) => event.id);
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const { rows: left } = await this.pool.query<{ event_id: string; attempts: number }>(
        'SELECT event_id, attempts FROM ingest_failures WHERE pipeline_id = $1 AND event_id = ANY($2)',
        [pipelineId, ids],
      );
      const failed = left.filter((row) => row.attempts > (before.get(row.event_id) ?? 0)).length;
      const pending = left.length - failed;
      if (pending === 0 || Date.now() > deadline) return { replayed: events.length, stored: events.length - left.length, failed, pending };
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private async count(pipelineId: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM ingest_failures WHERE pipeline_id = $1', [pipelineId]);
    return Number(rows[0].n);
  }
}

function toView(row: FailureRow): FailureView {
  const event = parseEvent(row.event);
  return {
    id: row.event_id,
    reason: row.reason,
    attempts: row.attempts,
    failedAt: row.created_at.toISOString(),
    event: event ? { type: event.type ?? null, occurredAt: iso(event.occurredAt), receivedAt: iso(event.receivedAt), payload: event.payload } : null,
  };
}
