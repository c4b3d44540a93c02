import type { ResolvedStorageMode } from '../migrations/1732752000001-event-storage';
import { boundedLastEventSql } from '../stats';

/**
 * A batch travels as one parameter: the JSON array of its events, exactly as they came off the
 * queue (`IngestEvent`: epoch-millisecond times). It is read once into rows here.
 */
const STAGED = `
  staged AS MATERIALIZED (
    SELECT r."pipelineId" AS pipeline_id, r.id AS event_id, r.type,
      timestamptz 'epoch' + r."occurredAt" * interval '1 millisecond' AS occurred_at,
      timestamptz 'epoch' + r."receivedAt" * interval '1 millisecond' AS received_at,
      r.payload
    FROM jsonb_to_recordset($1::jsonb) AS r("pipelineId" uuid, id text, type text, "occurredAt" bigint, "receivedAt" bigint, payload jsonb)
  )`;

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

// In native mode the writer keeps the rollups itself, in the same transaction as the events
// (TimescaleDB's continuous aggregates do it there).
const rollup = (table: string, unit: 'minute' | 'hour') => `
  , ${table}_delta AS (
    INSERT INTO ${table} AS c (pipeline_id, type, bucket, count)
    SELECT pipeline_id, type, date_trunc('${unit}', occurred_at, 'UTC'), count(*) FROM stored GROUP BY 1, 2, 3
    ON CONFLICT ON CONSTRAINT ${table}_key DO UPDATE SET count = c.count + excluded.count
  )`;

/** Distinct values a dimension keeps per hour; later ones count as `(other)`. */
export const MAX_DIMENSION_VALUES_PER_HOUR = 1000;
/** A dimension's value is the text at its path, cut to this many characters. */
export const MAX_DIMENSION_VALUE_LENGTH = 200;

/** A row's measures merged position by position when both rows name the same ones: as many as a pipeline may declare. */
const MEASURE_POSITIONS = 8;

/**
 * One measure column of an upsert: position by position, into an array of the row's length, when
 * both rows name the same measures (sorted), else by name (`dash_merge_measures`).
 */
function mergedMeasures(column: string, op: 'sum' | 'min' | 'max'): string {
  const merged = (i: number) => {
    const [a, b] = [`r.${column}[${i}]`, `excluded.${column}[${i}]`];
    return op === 'min' ? `least(${a}, ${b})` : op === 'max' ? `greatest(${a}, ${b})` : `coalesce(${a} + ${b}, ${a}, ${b})`;
  };
  const lengths = Array.from({ length: MEASURE_POSITIONS }, (_, n) => `WHEN ${n + 1} THEN ARRAY[${Array.from({ length: n + 1 }, (_, i) => merged(i + 1)).join(', ')}]`);
  return `${column} = CASE WHEN r.measures <> excluded.measures THEN dash_merge_measures('${op}', r.measures, r.${column}, excluded.measures, excluded.${column})
        ELSE CASE cardinality(r.measures) WHEN 0 THEN r.${column} ${lengths.join(' ')}
        ELSE dash_merge_measures('${op}', r.measures, r.${column}, excluded.measures, excluded.${column}) END END`;
}

/**
 * Adds rollup rows to a table, in key order (two writers never lock rows in opposite orders).
 * `source` holds per (pipeline, dimension, value, bucket) and measure (NULL where none is kept) the
 * events counted (`n`) and the measure's numbers: one row of the table each, its measures sorted.
 */
function dimensionRollup(table: string, source: string): string {
  // Aggregated in the order of the sorted input: an ORDER BY in each aggregate would sort every group six times.
  const list = (column: string) => `coalesce(array_agg(${column}) FILTER (WHERE measure IS NOT NULL), '{}')`;
  return `
  , ${table}_delta AS (
    INSERT INTO ${table} AS r (pipeline_id, dimension, bucket, value, count, measures, measure_counts, sums, mins, maxes, skipped)
    SELECT pipeline_id, dimension, bucket, value, max(n), ${list('measure')}, ${list('c')}, ${list('s')}, ${list('lo')}, ${list('hi')}, ${list('x')}
    FROM (SELECT * FROM ${source} g ORDER BY pipeline_id, dimension, bucket, value, measure) g GROUP BY pipeline_id, dimension, bucket, value
    ORDER BY pipeline_id, dimension, bucket, value
    ON CONFLICT (pipeline_id, dimension, bucket, value) DO UPDATE SET
      count = r.count + excluded.count,
      measures = CASE WHEN r.measures = excluded.measures THEN r.measures ELSE dash_measure_names(r.measures, excluded.measures) END,
      ${mergedMeasures('measure_counts', 'sum')},
      ${mergedMeasures('sums', 'sum')},
      ${mergedMeasures('mins', 'min')},
      ${mergedMeasures('maxes', 'max')},
      ${mergedMeasures('skipped', 'sum')}
  )`;
}

/** The ingestor's groups (dimension-groups.ts: a JSON array of `Group`) as `dimensionRollupsSql` takes them. */
export function groupsSql(json: string, where = ''): string {
  return `(SELECT g.p AS pipeline_id, g.d AS dimension, timestamptz 'epoch' + g.b * interval '1 millisecond' AS bucket,
        date_bin('1 hour', timestamptz 'epoch' + g.b * interval '1 millisecond', timestamptz 'epoch') AS hour, g.v AS raw, g.n AS count, g.m
      FROM jsonb_to_recordset(${json}) AS g(p uuid, d text, b bigint, v text, n bigint, m jsonb) ${where})`;
}

/** No pre-aggregated groups (a backfill reads stored payloads). */
export const NO_GROUPS = `(SELECT NULL::uuid AS pipeline_id, NULL::text AS dimension, NULL::timestamptz AS bucket, NULL::timestamptz AS hour, NULL::text AS raw, NULL::bigint AS count, NULL::jsonb AS m WHERE false)`;

/**
 * The gold layer by payload field: adds a set of events to the dimension rollups, as CTEs that
 * follow a WITH list. `events` names a CTE of (seq, pipeline_id, type, occurred_at, payload);
 * `plan` one of (pipeline_id, dimension, measures text[], counts boolean): for each of the
 * pipeline's events, each dimension's value is found (admitted under the cap, else `(other)`;
 * `(none)` when missing or null), the events are counted when `counts`, and each listed measure is
 * summed. `groups` names events already aggregated by the ingestor (see dimension-groups.ts):
 * (pipeline_id, dimension, bucket, hour, raw, count, m jsonb of each measure's c, s, lo, hi, x),
 * counted, of other pipelines than `events`; their raw values meet the cap in the same one
 * admission as the others. `marks` names a relation of (pipeline_id, rollups_closed_before) read
 * under the pipeline's row lock: block, day and week rows are added only for the bins before the
 * bin it is in (see the RollupBlocks migration). The writer passes its stored events with every declared
 * dimension (see below); a backfill passes stored events with the paths declared later. Kept by
 * the writer in both storage modes (see the Dimensions migration for why not continuous aggregates).
 */
export function dimensionRollupsSql(events: string, plan: string, marks: string, groups: string = NO_GROUPS): string {
  return `
  , observed AS MATERIALIZED (
    -- date_bin on the epoch: the UTC minute and hour, without date_trunc's time zone work.
    SELECT e.seq, e.pipeline_id, d.dimension, d.measures, d.counts,
      date_bin('1 minute', e.occurred_at, timestamptz 'epoch') AS bucket, date_bin('1 hour', e.occurred_at, timestamptz 'epoch') AS hour,
      left(CASE WHEN d.dimension = 'type' THEN e.type ELSE e.payload #>> d.path END, ${MAX_DIMENSION_VALUE_LENGTH}) AS raw
    FROM ${events} e JOIN (SELECT *, string_to_array(dimension, '.') AS path FROM ${plan}) d USING (pipeline_id)
  ), found AS MATERIALIZED (
    -- Each event against each measure its plan names: the JSON there, read once.
    SELECT e.seq, m.measure, e.payload #> string_to_array(m.measure, '.') AS json
    FROM ${events} e JOIN (SELECT DISTINCT pipeline_id, unnest(measures) AS measure FROM ${plan}) m USING (pipeline_id)
  ), measured AS MATERIALIZED (
    SELECT seq, measure, CASE WHEN jsonb_typeof(json) = 'number' THEN json::numeric END AS num, json IS NOT NULL AND jsonb_typeof(json) <> 'number' AS skip FROM found
  ), grouped AS MATERIALIZED (
    SELECT * FROM ${groups} g
  ), candidates AS MATERIALIZED (
    SELECT DISTINCT pipeline_id, dimension, hour, raw FROM observed WHERE raw IS NOT NULL
    UNION
    SELECT pipeline_id, dimension, hour, raw FROM grouped WHERE raw IS NOT NULL
  ), admitted AS (
    SELECT * FROM dash_admit_dimension_values(
      (SELECT array_agg(pipeline_id) FROM candidates), (SELECT array_agg(dimension) FROM candidates),
      (SELECT array_agg(hour) FROM candidates), (SELECT array_agg(raw) FROM candidates), ${MAX_DIMENSION_VALUES_PER_HOUR})
  ), valued AS MATERIALIZED (
    SELECT o.seq, o.pipeline_id, o.dimension, o.bucket, o.measures, o.counts,
      CASE WHEN o.raw IS NULL THEN '(none)' WHEN a.admitted_value IS NOT NULL THEN o.raw ELSE '(other)' END AS value
    FROM observed o LEFT JOIN admitted a ON a.admitted_pipeline = o.pipeline_id AND a.admitted_dimension = o.dimension
      AND a.admitted_hour = o.hour AND a.admitted_value = o.raw
  ), grouped_valued AS MATERIALIZED (
    SELECT g.pipeline_id, g.dimension, g.bucket, g.count, g.m,
      CASE WHEN g.raw IS NULL THEN '(none)' WHEN a.admitted_value IS NOT NULL THEN g.raw ELSE '(other)' END AS value
    FROM grouped g LEFT JOIN admitted a ON a.admitted_pipeline = g.pipeline_id AND a.admitted_dimension = g.dimension
      AND a.admitted_hour = g.hour AND a.admitted_value = g.raw
  ), minute_measures AS MATERIALIZED (
    -- Per (pipeline, dimension, value, minute) and measure (NULL for a pipeline that keeps none):
    -- the events counted, the measure's numbers, their sum, min and max, and the values skipped.
    SELECT v.pipeline_id, v.dimension, v.value, v.bucket, w.measure, count(*) FILTER (WHERE v.counts) AS n,
      count(m.num) AS c, sum(m.num) AS s, min(m.num) AS lo, max(m.num) AS hi, count(*) FILTER (WHERE m.skip) AS x
    FROM valued v LEFT JOIN LATERAL unnest(v.measures) AS w(measure) ON true LEFT JOIN measured m ON m.seq = v.seq AND m.measure = w.measure
    GROUP BY 1, 2, 3, 4, 5
    UNION ALL
    SELECT g.pipeline_id, g.dimension, g.value, g.bucket, m.k, sum(g.count)::bigint, sum(m.c)::bigint, sum(m.s::numeric), min(m.lo::numeric), max(m.hi::numeric), sum(m.x)::bigint
    FROM grouped_valued g LEFT JOIN LATERAL jsonb_to_recordset(g.m) AS m(k text, c bigint, s text, lo text, hi text, x bigint) ON true
    GROUP BY 1, 2, 3, 4, 5
  ), hour_measures AS MATERIALIZED (
    SELECT pipeline_id, dimension, value, date_bin('1 hour', bucket, timestamptz 'epoch') AS bucket, measure,
      sum(n)::bigint AS n, sum(c)::bigint AS c, sum(s) AS s, min(lo) AS lo, max(hi) AS hi, sum(x)::bigint AS x
    FROM minute_measures GROUP BY 1, 2, 3, 4, 5
  ), closed_hours AS MATERIALIZED (
    -- The hours of closed blocks (a late event), with the mark: nearly always none.
    SELECT h.*, k.rollups_closed_before AS mark FROM hour_measures h JOIN ${marks} k ON k.pipeline_id = h.pipeline_id AND h.bucket < k.rollups_closed_before
  )${dimensionRollup('dimension_rollup_1m', 'minute_measures')}${dimensionRollup('dimension_rollup_1h', 'hour_measures')}${CLOSED_BINS.map((bin) =>
    dimensionRollup(bin.table, closedRollup(bin.bin)),
  ).join('')}`;
}

/** The rollups kept for closed bins only: 6-hour blocks, days and weeks (see the RollupBlocks migration). */
const CLOSED_BINS = [
  { table: 'dimension_rollup_6h', bin: '6 hours' },
  { table: 'dimension_rollup_1d', bin: '1 day' },
  { table: 'dimension_rollup_1w', bin: '7 days' },
] as const;

/**
 * The hour measures of closed bins only, binned by `bin`: those of bins before the bin the
 * pipeline's mark is in (`mark`, a block's start: the bins before its bin end at or before it).
 * Later ones are made from the finer rows when they close.
 */
const closedRollup = (bin: string) => `(
      SELECT h.pipeline_id, h.dimension, h.value, date_bin('${bin}', h.bucket, timestamptz 'epoch') AS bucket, h.measure,
        sum(h.n)::bigint AS n, sum(h.c)::bigint AS c, sum(h.s) AS s, min(h.lo) AS lo, max(h.hi) AS hi, sum(h.x)::bigint AS x
      FROM closed_hours h WHERE h.bucket < date_bin('${bin}', h.mark, timestamptz 'epoch')
      GROUP BY 1, 2, 3, 4, 5)`;

// Only pipelines with declared dimensions or measures do any of this work; for the others the
// plan is empty and every step is a no-op. Only events this statement stored count (\`stored\` is
// the set the INSERT returned): replays and duplicates never reach the rollups, and a batch lost
// mid-way (kill -9) rolls back with its events. \`locked\` holds each batch pipeline's row (FOR
// SHARE, before any event is inserted) so that a declaration (an UPDATE of that row) falls
// strictly between batches: the events of batches before it are the backfill's, later ones count
// here with the new paths (see DimensionsRepository.declare).
const WRITER_ROLLUPS = `
  , pregrouped AS (
    -- The ingestor's groups of a pipeline count only if they describe exactly what was stored:
    -- the plan they were made for is the pipeline's (locked) one, and every event they hold was
    -- stored (a duplicate or replay in the batch sends the pipeline through the payloads below).
    SELECT x.p AS pipeline_id FROM jsonb_to_recordset($2::jsonb -> 'plans') AS x(p uuid, dimensions text[], measures text[], n bigint)
    JOIN locked l ON l.pipeline_id = x.p AND l.dimensions = x.dimensions AND l.measures = x.measures
    WHERE x.n = (SELECT count(*) FROM stored s WHERE s.pipeline_id = x.p)
  ), configured_events AS MATERIALIZED (
    SELECT s.seq, s.pipeline_id, s.type, s.occurred_at, st.payload
    FROM stored s JOIN staged st ON st.pipeline_id = s.pipeline_id AND st.event_id = s.event_id
    WHERE s.pipeline_id IN (SELECT pipeline_id FROM locked WHERE cardinality(dimensions) > 0 OR cardinality(measures) > 0)
      AND s.pipeline_id NOT IN (SELECT pipeline_id FROM pregrouped)
  ), plan AS (
    SELECT DISTINCT l.pipeline_id, d.dimension, l.measures, true AS counts
    FROM locked l CROSS JOIN LATERAL unnest('{type}'::text[] || l.dimensions) AS d(dimension)
    WHERE (cardinality(l.dimensions) > 0 OR cardinality(l.measures) > 0) AND l.pipeline_id IN (SELECT pipeline_id FROM fresh)
      AND l.pipeline_id NOT IN (SELECT pipeline_id FROM pregrouped)
  )${dimensionRollupsSql(
    'configured_events',
    'plan',
    'locked',
    groupsSql(`$2::jsonb -> 'groups'`, 'WHERE g.p IN (SELECT pipeline_id FROM pregrouped)'),
  )}`;

/**
 * Writes a batch in one statement (one round trip, its own transaction): claims each
 * (pipeline, event id) in the deduplication window, stores only the events it claimed, updates
 * rollups and per-pipeline stats, removes failures recorded earlier for these events, and returns
 * the new stats of each pipeline touched. Events of pipelines this database does not have
 * (deleted meanwhile, or sent through another deployment on the same Redis) are never dropped
 * silently: they go to orphaned_events, and a row per such pipeline (stats columns null,
 * `orphaned` its count) comes back with the stats.
 */
export function writeBatchSql(mode: ResolvedStorageMode): string {
  return `
  WITH${STAGED}, locked AS (
    SELECT p.id AS pipeline_id, p.dimensions, p.measures, p.rollups_closed_before FROM pipelines p
    WHERE p.id IN (SELECT pipeline_id FROM staged) ORDER BY p.id FOR SHARE
  ), fresh AS (
    INSERT INTO event_ids (pipeline_id, event_id, received_at)
    SELECT s.pipeline_id, s.event_id, s.received_at FROM staged s
    WHERE s.pipeline_id IN (SELECT pipeline_id FROM locked)
    ON CONFLICT DO NOTHING
    RETURNING pipeline_id, event_id
  ), stored AS (
    INSERT INTO events (pipeline_id, event_id, type, occurred_at, received_at, payload)
    SELECT s.pipeline_id, s.event_id, s.type, s.occurred_at, s.received_at, s.payload
    FROM staged s JOIN fresh f ON f.pipeline_id = s.pipeline_id AND f.event_id = s.event_id
    RETURNING seq, pipeline_id, event_id, type, occurred_at, received_at
  ), orphaned AS (
    INSERT INTO orphaned_events (pipeline_id, event_id, type, occurred_at, received_at, payload)
    SELECT s.pipeline_id, s.event_id, s.type, s.occurred_at, s.received_at, s.payload FROM staged s
    -- The same test as \`fresh\`'s (a pipeline deleted while this batch waited for its row lock is not in \`locked\`).
    WHERE s.pipeline_id NOT IN (SELECT pipeline_id FROM locked)
    ON CONFLICT (pipeline_id, event_id) DO NOTHING
    RETURNING pipeline_id
  ), resolved AS (
    -- A recorded failure whose event is now stored (a replay, or a fixed redelivery) leaves the list.
    DELETE FROM ingest_failures f USING staged s WHERE f.pipeline_id = s.pipeline_id AND f.event_id = s.event_id
  )${mode === 'native' ? rollup('event_counts_1m', 'minute') + rollup('event_counts_1h', 'hour') : ''}${WRITER_ROLLUPS}
  , newest AS (
    SELECT DISTINCT ON (pipeline_id) pipeline_id, event_id, type, occurred_at, received_at
    FROM stored ORDER BY pipeline_id, seq DESC
  ), newest_payload AS (
    -- The last event's payload, looked up in the batch once per pipeline (a join here gets no good
    -- plan for a batch of unknown size; carrying every payload through \`stored\` to pick one costs
    -- more), with its size: one over MAX_LIVE_PAYLOAD_BYTES is kept out of the stats (they go to
    -- every viewer's acks and live updates).
    SELECT n.*, p.payload, octet_length(p.payload::text) AS bytes
    FROM newest n, LATERAL (SELECT s.payload FROM staged s WHERE s.pipeline_id = n.pipeline_id AND s.event_id = n.event_id LIMIT 1) p
  ), latest AS (
    -- The last event's JSON, built once per pipeline.
    SELECT n.pipeline_id, n.received_at,
      ${boundedLastEventSql(`jsonb_build_object('id', n.event_id, 'type', n.type, 'occurredAt', ${iso('n.occurred_at')}, 'receivedAt', ${iso('n.received_at')}, 'payload', n.payload)`, 'n.bytes')} AS event
    FROM newest_payload n
  ), totals AS (
    SELECT pipeline_id, count(*) AS n FROM stored GROUP BY pipeline_id
  )
  , updated AS (
    INSERT INTO pipeline_stats AS ps (pipeline_id, count, version, last_event, last_event_at)
    SELECT t.pipeline_id, t.n, 1, l.event, l.received_at FROM totals t JOIN latest l USING (pipeline_id)
    ON CONFLICT (pipeline_id) DO UPDATE SET
      count = ps.count + excluded.count,
      version = ps.version + 1,
      last_event = excluded.last_event,
      last_event_at = excluded.last_event_at
    RETURNING pipeline_id, count, version, last_event, last_event_at
  )
  -- With each pipeline's declared paths: the ingestor groups its next batches by them.
  SELECT u.pipeline_id, u.count, u.version, u.last_event, u.last_event_at, NULL::bigint AS orphaned, l.dimensions, l.measures FROM updated u JOIN locked l USING (pipeline_id)
  UNION ALL
  SELECT pipeline_id, NULL, NULL, NULL, NULL, count(*), NULL, NULL FROM orphaned GROUP BY pipeline_id`;
}
