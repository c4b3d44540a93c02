import type { ResolvedStorageMode } from '@dash/infra';

/** Rows of a batch land here by COPY, then move on in one statement. Emptied at commit. */
export const CREATE_STAGING = `
  CREATE TEMP TABLE IF NOT EXISTS dash_staging (
    pipeline_id uuid NOT NULL,
    event_id text NOT NULL,
    type text,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    payload jsonb NOT NULL
  ) ON COMMIT DELETE ROWS`;

export const COPY_STAGING = `COPY dash_staging (pipeline_id, event_id, type, occurred_at, received_at, payload) FROM STDIN`;

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

// In native mode the writer keeps the rollups itself, in the same transaction as the events
// (TimescaleDB's continuous aggregates do it there).
const rollup = (table: string, unit: 'minute' | 'hour') => `
  , ${table}_delta AS (
    INSERT INTO ${table} AS c (pipeline_id, type, bucket, count)
    SELECT pipeline_id, type, date_trunc('${unit}', occurred_at, 'UTC'), count(*) FROM stored GROUP BY 1, 2, 3
    ON CONFLICT ON CONSTRAINT ${table}_key DO UPDATE SET count = c.count + excluded.count
  )`;

/**
 * Moves the staged batch into storage in one statement: claims each (pipeline, event id) in the
 * deduplication window, stores only the events it claimed, updates rollups and per-pipeline stats,
 * removes failures recorded earlier for these events, and returns the new stats of each pipeline
 * touched. Events of deleted pipelines are dropped.
 */
export function moveStagedSql(mode: ResolvedStorageMode): string {
  return `
  WITH fresh AS (
    INSERT INTO event_ids (pipeline_id, event_id, received_at)
    SELECT s.pipeline_id, s.event_id, s.received_at FROM dash_staging s
    WHERE EXISTS (SELECT 1 FROM pipelines p WHERE p.id = s.pipeline_id)
    ON CONFLICT DO NOTHING
    RETURNING pipeline_id, event_id
  ), stored AS (
    INSERT INTO events (pipeline_id, event_id, type, occurred_at, received_at, payload)
    SELECT s.pipeline_id, s.event_id, s.type, s.occurred_at, s.received_at, s.payload
    FROM dash_staging s JOIN fresh f ON f.pipeline_id = s.pipeline_id AND f.event_id = s.event_id
    RETURNING seq, pipeline_id, event_id, type, occurred_at, received_at
  ), resolved AS (
    -- A recorded failure whose event is now stored (a replay, or a fixed redelivery) leaves the list.
    DELETE FROM ingest_failures f USING dash_staging s WHERE f.pipeline_id = s.pipeline_id AND f.event_id = s.event_id
  )${mode === 'native' ? rollup('event_counts_1m', 'minute') + rollup('event_counts_1h', 'hour') : ''}
  , newest AS (
    SELECT DISTINCT ON (pipeline_id) pipeline_id, event_id, type, occurred_at, received_at
    FROM stored ORDER BY pipeline_id, seq DESC
  ), latest AS (
    -- The last event's JSON is built once per pipeline, its payload taken from the staged row.
    SELECT n.pipeline_id, n.received_at,
      jsonb_build_object('id', n.event_id, 'type', n.type, 'occurredAt', ${iso('n.occurred_at')},
                         'receivedAt', ${iso('n.received_at')}, 'payload', s.payload) AS event
    FROM newest n JOIN dash_staging s ON s.pipeline_id = n.pipeline_id AND s.event_id = n.event_id
  ), totals AS (
    SELECT pipeline_id, count(*) AS n FROM stored GROUP BY pipeline_id
  )
  INSERT INTO pipeline_stats AS ps (pipeline_id, count, version, last_event, last_event_at)
  SELECT t.pipeline_id, t.n, 1, l.event, l.received_at FROM totals t JOIN latest l USING (pipeline_id)
  ON CONFLICT (pipeline_id) DO UPDATE SET
    count = ps.count + excluded.count,
    version = ps.version + 1,
    last_event = excluded.last_event,
    last_event_at = excluded.last_event_at
  RETURNING pipeline_id, count, version, last_event, last_event_at`;
}

export const RECORD_FAILURE = `
  INSERT INTO ingest_failures (pipeline_id, event_id, event, reason)
  SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM pipelines WHERE id = $1)
  ON CONFLICT (pipeline_id, event_id) DO UPDATE SET
    event = excluded.event, reason = excluded.reason,
    attempts = ingest_failures.attempts + 1, created_at = now()`;
