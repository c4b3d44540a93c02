import { MAX_JSON_DEPTH, MAX_LIVE_PAYLOAD_BYTES, valueNestsDeeperThan, type PipelineStats, type StoredEvent } from '@dash/domain';

/** A `pipeline_stats` row as selected by STATS_COLUMNS. */
export interface StatsRow {
  pipeline_id: string;
  count: string;
  version: string;
  last_event: StoredEvent | null;
  last_event_at: Date | null;
}

/**
 * The last event as SQL, its payload replaced by `null` with `payloadTruncated` and `payloadBytes`
 * when its JSON text is over MAX_LIVE_PAYLOAD_BYTES: done in the database, so a 1 MB payload never
 * reaches the web (a viewer's subscribes and stats would otherwise copy it per request). Needs the
 * payload's size as `bytes` (see STATS_FROM). The writer truncates when it stores; this also covers
 * rows stored by older versions.
 */
export function boundedLastEventSql(event: string, bytes: string): string {
  return (
    `CASE WHEN ${bytes} > ${MAX_LIVE_PAYLOAD_BYTES} ` +
    `THEN jsonb_set(${event}, '{payload}', 'null'::jsonb) || jsonb_build_object('payloadTruncated', true, 'payloadBytes', ${bytes}) ` +
    `ELSE ${event} END`
  );
}

export const STATS_COLUMNS = `pipeline_id, count, version, ${boundedLastEventSql('last_event', 'last_payload.bytes')} AS last_event, last_event_at`;

/** The table STATS_COLUMNS read from, with the size of the last event's payload computed once. */
export const STATS_FROM = `pipeline_stats, LATERAL (SELECT octet_length((last_event->'payload')::text) AS bytes) last_payload`;

/**
 * A stored event as it may go out in a reply, an ack or a live update: a payload nested deeper than
 * MAX_JSON_DEPTH (only older versions stored such) is sent as `null` with `payloadTruncated`, as
 * serializing it (JSON.stringify, socket.io's encoder) would overflow the stack and take the process
 * down. Iterative, and cheap: callers pass payloads already bounded in size.
 */
export function boundedEvent<T extends { payload: unknown; payloadTruncated?: boolean }>(event: T): T {
  if (event.payloadTruncated || !valueNestsDeeperThan(event.payload, MAX_JSON_DEPTH)) return event;
  return { ...event, payload: null, payloadTruncated: true };
}

export function toPipelineStats(row: StatsRow): PipelineStats {
  return {
    pipelineId: row.pipeline_id,
    count: Number(row.count),
    lastEvent: row.last_event ? boundedEvent(row.last_event) : null,
    lastEventAt: row.last_event_at ? row.last_event_at.toISOString() : null,
    version: Number(row.version),
  };
}

export function emptyStats(pipelineId: string): PipelineStats {
  return { pipelineId, count: 0, lastEvent: null, lastEventAt: null, version: 0 };
}
