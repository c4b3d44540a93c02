import { Injectable } from '@nestjs/common';
import { DashError, parseIsoTime, type FailureView, type IngestEvent, type ReplayResult } from '@dash/domain';
import { boundedEvent, FailuresRepository, type FailureRow } from '@dash/infra';
import { PipelineNotices } from '../live/pipeline-notices';
import { IngestQueue } from '../webhooks/ingest-queue';

/** At most this many failures are replayed by one request (the rest by the next one). */
export const MAX_REPLAY = 1000;
const SETTLE_TIMEOUT_MS = 20_000;
const MAX_FAILURE_ID = 1000;
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

const encodeFailureCursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString('base64url');

function decodeFailureCursor(cursor: string): [string, string] {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    // Only what this API writes: a UTC time in PostgreSQL's range and a bigint (else a 500, not a 400).
    if (typeof at === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(at) && parseIsoTime(at) !== undefined && typeof id === 'string' && /^\d{1,19}$/.test(id) && BigInt(id) <= 9223372036854775807n) return [at, id];
  } catch {
    // fall through
  }
  throw new DashError(400, 'invalid_request', 'before is not a cursor returned by this API');
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
    private readonly failures: FailuresRepository,
    private readonly queue: IngestQueue,
    private readonly notices: PipelineNotices,
  ) {}

  /** Removes one failure for good (an event that can never be stored); 404 when the pipeline has no such failure. */
  async discard(pipelineId: string, failureId: string): Promise<void> {
    // No stored id is longer (event ids are at most 255 characters): not worth a query.
    if (failureId.length > MAX_FAILURE_ID || !(await this.failures.discard(pipelineId, failureId))) throw new DashError(404, 'not_found', 'this pipeline has no failure with that id');
    this.notices.failuresChanged(pipelineId);
  }

  /**
   * Newest first. A page stops early rather than exceed MAX_PAGE_BYTES (`next` then points past
   * it): sizes come from the database (`octet_length` of a text reads its header, it does not load
   * it) and only the records that fit are fetched.
   */
  async list(pipelineId: string, limit: number, before?: string): Promise<{ items: FailureView[]; total: number; next: string | null }> {
    const cursor = before === undefined ? undefined : decodeFailureCursor(before);
    const [{ rows, more }, total] = await Promise.all([this.failures.page(pipelineId, limit, cursor), this.failures.count(pipelineId)]);
    const last = rows[rows.length - 1];
    return { items: rows.map(toView), total, next: more && last ? encodeFailureCursor(last.cursor_at, last.id) : null };
  }

  async replay(pipelineId: string): Promise<ReplayResult> {
    const rows = await this.failures.oldest(pipelineId, MAX_REPLAY);
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
      const left = await this.failures.attempts(pipelineId, ids);
      const failed = left.filter((row) => row.attempts > (before.get(row.event_id) ?? 0)).length;
      const pending = left.length - failed;
      if (pending === 0 || Date.now() > deadline) {
        // Stored ones left the list (failed ones were announced by the ingestor): other pages read it again.
        if (left.length < events.length) this.notices.failuresChanged(pipelineId);
        return { replayed: events.length, stored: events.length - left.length, failed, pending };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}

function toView(row: FailureRow): FailureView {
  const event = parseEvent(row.event);
  return {
    id: row.event_id,
    reason: row.reason,
    attempts: row.attempts,
    failedAt: row.created_at.toISOString(),
    // A record of an older version may nest too deep to serialize: its payload goes out as null, marked.
    event: event ? boundedEvent({ type: event.type ?? null, occurredAt: iso(event.occurredAt), receivedAt: iso(event.receivedAt), payload: event.payload }) : null,
  };
}
