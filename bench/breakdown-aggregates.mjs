#!/usr/bin/env node
// Issue 24 asks for the dimension aggregates on TimescaleDB as continuous aggregates "as the
// counts have today". This measures what that would cost against the rollups the writer keeps, in
// one database, on the same numbers, side by side:
//   node bench/breakdown-aggregates.mjs <dist dir> <admin url of a TimescaleDB server> [requests]
//
// The continuous-aggregate layout measured: the writer appends per-minute partial rows (one per
// batch, dimension, value and measure; counts under measure '') to a hypertable, and a hierarchy
// of continuous aggregates (1 minute, 1 hour, 6 hours, 1 day, 7 days; epoch-aligned, each on the
// one below) sums them. The cap stays the writer's (it decides the value a row holds), so the
// aggregates are exact; a dimension list that changes needs no new query (rows are keyed by path).
//
// Seeded: one pipeline, 30 days ending now, 1,000 values of `data.v` per hour (~14 events each,
// ~10 M events) with the measure `data.n`, one partial row per value and hour, and per-minute rows
// (206 values) for the first and last 3 hours: the only minutes a 30-day read takes. The writer's
// rollup tables (Dash's own schema, migrated from <dist>) are made from the same partial rows by
// GROUP BY, so every read must give the same answer (checked). Reads, alternated, `requests` each,
// all without parallel workers (as the service reads rollups):
//   - writer: Dash's BreakdownsRepository (the service's read);
//   - ca real-time: the continuous aggregates read as `/series` reads the counts (real-time views:
//     materialized rows plus what is newer, computed from the level below);
//   - ca by watermark: each level's materialized rows below its watermark only, the newest minutes
//     from the partial rows (the fastest exact read of that layout; late events below a watermark
//     wait for a refresh, as the counts' do).
// Then the refresh costs: materializing the 30 days, a late event 20 days back, and another
// pipeline's backfill over the same 30 days (a refresh recomputes the whole time range it
// invalidates, every pipeline's rows in it: invalidation is by time only).
import pg from 'pg';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const [distDir, adminUrl, requestsArg] = process.argv.slice(2);
const REQUESTS = Number(requestsArg ?? 100);
const { BreakdownsRepository } = require(resolve(distDir, 'libs/infra/src/lib/database/repositories/breakdowns.repository.js'));

const DAY = 86_400_000;
const HOUR = 3_600_000;
const LEVELS = [
  { name: '1m', interval: '1 minute', ms: 60_000, below: 'dimension_partials', endOffset: '1 minute' },
  { name: '1h', interval: '1 hour', ms: HOUR, below: 'dimension_agg_1m', endOffset: '1 hour' },
  { name: '6h', interval: '6 hours', ms: 6 * HOUR, below: 'dimension_agg_1h', endOffset: '6 hours' },
  { name: '1d', interval: '1 day', ms: DAY, below: 'dimension_agg_6h', endOffset: '1 day' },
  { name: '1w', interval: '7 days', ms: 7 * DAY, below: 'dimension_agg_1d', endOffset: '7 days' },
].map((level) => ({ ...level, view: `dimension_agg_${level.name}` }));

const name = `dash_bagg_${randomBytes(4).toString('hex')}`;
const dbUrl = new URL(adminUrl);
dbUrl.pathname = `/${name}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const pool = new pg.Pool({ connectionString: dbUrl.toString(), max: 1 });
const timed = async (fn) => {
  const started = process.hrtime.bigint();
  const result = await fn();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, result };
};

try {
  const env = { ...process.env, DATABASE_URL: dbUrl.toString(), STORAGE_MODE: 'timescale', DASH_MIGRATE: 'boot', LOG_LEVEL: 'warn' };
  const migrate = spawn(process.execPath, [resolve(distDir, 'apps/web/src/migrate.js')], { env, stdio: 'ignore' });
  await new Promise((ok, fail) => migrate.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`migrate exited ${code}`)))));
  const pipeline = async (label) =>
    (await pool.query(`INSERT INTO pipelines (name, source, signing_secret, dimensions, measures) VALUES ($1, '{"type":"webhook"}', 'whsec_unused', '{data.v}', '{data.n}') RETURNING id`, [label])).rows[0].id;
  const id = await pipeline('bench aggregates');
  const to = new Date();
  const from = new Date(to.getTime() - 30 * DAY);

  // The partial rows, as a writer of that layout would append them.
  await pool.query(`CREATE TABLE dimension_partials (pipeline_id uuid NOT NULL, dimension text NOT NULL, value text NOT NULL, bucket timestamptz NOT NULL,
    measure text NOT NULL, n bigint NOT NULL, c bigint, s numeric, lo numeric, hi numeric, x bigint)`);
  await pool.query(`SELECT create_hypertable('dimension_partials', by_range('bucket', INTERVAL '1 day'))`);
  await pool.query('CREATE INDEX ON dimension_partials (pipeline_id, dimension, measure, bucket)');
  const partials = (buckets, values) => `
    INSERT INTO dimension_partials
    SELECT $1, 'data.v', 'v' || lpad(i::text, 4, '0'), b, m, CASE WHEN m = '' THEN c ELSE 0 END,
      CASE WHEN m <> '' THEN c END, CASE WHEN m <> '' THEN c * 50 END, CASE WHEN m <> '' THEN 1 END, CASE WHEN m <> '' THEN 99 END, CASE WHEN m <> '' THEN 0 END
    FROM (${buckets}) bb(b) CROSS JOIN LATERAL (${values}) v(i, c) CROSS JOIN (VALUES (''), ('data.n')) mm(m)`;
  const edges = `$2::timestamptz + interval '3 hours'`;
  const lastEdge = `$3::timestamptz - interval '3 hours'`;
  const seeded = await timed(async () => {
    await pool.query(
      partials(
        `SELECT generate_series(date_bin('1 hour', ${edges}, timestamptz 'epoch') + interval '1 hour', ${lastEdge} - interval '1 hour', interval '1 hour')`,
        `SELECT i, 4 + (i * 7 + extract(epoch FROM b)::bigint / 3600) % 21 FROM generate_series(1, 1000) i`,
      ),
      [id, from, to],
    );
    await pool.query(
      partials(
        `SELECT generate_series(date_bin('1 minute', $2::timestamptz, timestamptz 'epoch'), date_bin('1 hour', ${edges}, timestamptz 'epoch') + interval '59 minutes', interval '1 minute')
         UNION ALL SELECT generate_series(date_bin('1 hour', ${lastEdge}, timestamptz 'epoch'), $3::timestamptz, interval '1 minute')`,
        `SELECT 1 + (k + (extract(epoch FROM b)::bigint / 60) * 206) % 1000, 1 + k % 2 FROM generate_series(0, 205) k`,
      ),
      [id, from, to],
    );
  });

  // Dash's rollups of the same rows (measures in the row; blocks, days and weeks only before the mark).
  const rollup = (table, bin, where = '') => `
    INSERT INTO ${table} (pipeline_id, dimension, bucket, value, count, measures, measure_counts, sums, mins, maxes, skipped)
    SELECT pipeline_id, dimension, date_bin('${bin}', bucket, timestamptz 'epoch') AS b, value, sum(n), '{data.n}', ARRAY[sum(c)], ARRAY[sum(s)], ARRAY[min(lo)], ARRAY[max(hi)], ARRAY[sum(x)]
    FROM dimension_partials p WHERE pipeline_id = $1 ${where} GROUP BY 1, 2, 3, 4 ORDER BY b, value`;
  const closed = (bin) => `AND date_bin('${bin}', bucket, timestamptz 'epoch') + interval '${bin}' <= (SELECT rollups_closed_before FROM pipelines WHERE id = $1)`;
  for (const [table, bin, where] of [
    ['dimension_rollup_1m', '1 minute'],
    ['dimension_rollup_1h', '1 hour'],
    ['dimension_rollup_6h', '6 hours', closed('6 hours')],
    ['dimension_rollup_1d', '1 day', closed('1 day')],
    ['dimension_rollup_1w', '7 days', closed('7 days')],
  ])
    await pool.query(rollup(table, bin, where), [id]);

  // The continuous aggregates: each level on the one below, each with the index a read needs.
  for (const level of LEVELS) {
    const [count, mCount, sum, min, max, skipped] = level.name === '1m' ? ['n', 'c', 's', 'lo', 'hi', 'x'] : ['count', 'm_count', 'm_sum', 'm_min', 'm_max', 'm_skipped'];
    await pool.query(`CREATE MATERIALIZED VIEW ${level.view} WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
      SELECT pipeline_id, dimension, value, measure, time_bucket(INTERVAL '${level.interval}', bucket, TIMESTAMPTZ 'epoch') AS bucket,
        sum(${count})::bigint AS count, sum(${mCount})::bigint AS m_count, sum(${sum}) AS m_sum, min(${min}) AS m_min, max(${max}) AS m_max, sum(${skipped})::bigint AS m_skipped
      FROM ${level.below} GROUP BY pipeline_id, dimension, value, measure, time_bucket(INTERVAL '${level.interval}', bucket, TIMESTAMPTZ 'epoch') WITH NO DATA`);
    await pool.query(`CREATE INDEX ON ${level.view} (pipeline_id, dimension, measure, bucket)`);
  }
  const refreshAll = async () => {
    const costs = {};
    for (const level of LEVELS) costs[level.name] = Math.round((await timed(() => pool.query(`CALL refresh_continuous_aggregate('${level.view}', NULL, now() - INTERVAL '${level.endOffset}')`))).ms);
    return costs;
  };
  const materialized = await refreshAll();
  await pool.query('VACUUM ANALYZE');
  const { rows: marks } = await pool.query(
    `SELECT c.user_view_name AS view, c.mat_hypertable_id AS id, h.schema_name || '.' || h.table_name AS tbl,
       _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(c.mat_hypertable_id)) AS watermark
     FROM _timescaledb_catalog.continuous_agg c JOIN _timescaledb_catalog.hypertable h ON h.id = c.mat_hypertable_id`,
  );
  const byView = Object.fromEntries(marks.map((mark) => [mark.view, mark]));

  // The rows of a 30-day read of the aggregates, as rollupRows reads Dash's tables: each level
  // covers its whole buckets in [from, to) before its `end` minus what the coarser ones covered;
  // `rest`, if any, the minutes after the finest level's end.
  const aggregateRows = (params, measure, levels, rest) => {
    const add = (value) => `$${params.push(value)}`;
    const [pipelineId, measures] = [add(id), add(measure ? ['', 'data.n'] : [''])];
    const parts = [];
    let covered = null;
    const part = (source, start, end) => {
      const bounds = { start: add(new Date(start)), end: add(new Date(end)) };
      const outside = covered === null ? '' : ` AND NOT (bucket >= ${covered.start} AND bucket < ${covered.end})`;
      parts.push(`SELECT value, bucket, count, m_count, m_sum, m_min, m_max, m_skipped FROM ${source}
        WHERE pipeline_id = ${pipelineId} AND dimension = 'data.v' AND measure = ANY (${measures}::text[]) AND bucket >= ${bounds.start} AND bucket < ${bounds.end}${outside}`);
      covered = bounds;
    };
    for (const level of [...levels].reverse()) {
      const finest = level.ms === 60_000;
      const start = finest ? from.getTime() : Math.ceil(from.getTime() / level.ms) * level.ms;
      const last = Math.min(to.getTime(), level.end);
      const end = finest ? last : Math.max(start, Math.floor(last / level.ms) * level.ms);
      if (end > start) part(level.source, start, end);
    }
    if (rest !== undefined && levels[0].end < to.getTime()) part(rest, levels[0].end, to.getTime());
    return parts.join(' UNION ALL ');
  };
  // The views, whole (real-time: each computes what is past its watermark from the level below).
  const realTime = (params, measure) => aggregateRows(params, measure, LEVELS.map((level) => ({ ms: level.ms, source: level.view, end: Infinity })));
  // The hypertables behind the views, each below its watermark; the newest minutes from the partial rows.
  const newestMinutes = `(SELECT pipeline_id, dimension, value, measure, date_bin('1 minute', bucket, timestamptz 'epoch') AS bucket, sum(n) AS count,
      sum(c) AS m_count, sum(s) AS m_sum, min(lo) AS m_min, max(hi) AS m_max, sum(x) AS m_skipped
    FROM dimension_partials WHERE bucket >= '${byView.dimension_agg_1m.watermark.toISOString()}' GROUP BY 1, 2, 3, 4, 5) p`;
  const byWatermark = (params, measure) =>
    aggregateRows(params, measure, LEVELS.map((level) => ({ ms: level.ms, source: byView[level.view].tbl, end: byView[level.view].watermark.getTime() })), newestMinutes);
  const topTen = (rows) => `WITH grouped AS (
      SELECT value, sum(count) AS count, sum(m_count) AS m_count, sum(m_sum) AS m_sum FROM (${rows}) r GROUP BY value
    ), ranked AS (SELECT *, row_number() OVER (ORDER BY count DESC, value) AS rank FROM grouped)
    SELECT value, count, m_count, m_sum FROM ranked WHERE rank <= 10
    UNION ALL SELECT '(other)', sum(count), sum(m_count), sum(m_sum) FROM ranked WHERE rank > 10`;
  const repository = new BreakdownsRepository(pool);
  const byValue = (a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
  const readers = {
    writer: async (measure) => {
      const items = await repository.breakdown(id, { by: 'data.v', from, to, limit: 10, ...(measure ? { measure: 'data.n' } : {}) });
      return items.map((item) => ({ value: item.value, count: item.count, sum: item.measure?.sum ?? null })).sort(byValue);
    },
    ...Object.fromEntries(
      [['ca real-time', realTime], ['ca by watermark', byWatermark]].map(([label, rows]) => [
        label,
        async (measure) => {
          const params = [];
          const { rows: items } = await pool.query(topTen(rows(params, measure)), params);
          return items.map((item) => ({ value: item.value, count: Number(item.count), sum: measure ? Number(item.m_sum) : null })).sort(byValue);
        },
      ]),
    ),
  };
  // Reads without parallel workers, as the service's rollup reads run (starting them costs more
  // than they save on reads of this size); the refreshes below with the server's settings.
  await pool.query('SET max_parallel_workers_per_gather = 0');
  // Same answer from every reader (the top ten and (other)'s total).
  const answers = {};
  for (const [label, read] of Object.entries(readers)) answers[label] = JSON.stringify(await read(true));
  const agree = new Set(Object.values(answers)).size === 1;
  if (!agree) process.stderr.write(`answers differ:\n${Object.entries(answers).map(([label, answer]) => `${label}: ${answer.slice(0, 300)}`).join('\n')}\n`);

  const times = Object.fromEntries(Object.keys(readers).flatMap((label) => [[`${label}`, []], [`${label} +measure`, []]]));
  for (let round = 0; round < REQUESTS + 5; round++)
    for (const [label, read] of Object.entries(readers))
      for (const measure of [false, true]) {
        const { ms } = await timed(() => read(measure));
        if (round >= 5) times[`${label}${measure ? ' +measure' : ''}`].push(ms);
      }
  const pct = (list, p) => Number([...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.ceil((p / 100) * list.length) - 1)].toFixed(1));
  const reads = Object.fromEntries(Object.entries(times).map(([label, list]) => [label, `${pct(list, 50)} / ${pct(list, 99)}`]));

  await pool.query('RESET max_parallel_workers_per_gather');
  // A late event 20 days back, then another pipeline's backfill of 30 days (10 values an hour).
  await pool.query(partials(`SELECT date_bin('1 minute', now() - interval '20 days', timestamptz 'epoch')`, 'SELECT 1, 1'), [id]);
  const lateEvent = await refreshAll();
  const other = await pipeline('bench aggregates, other');
  const backfill = await timed(() =>
    pool.query(partials(`SELECT generate_series(date_bin('1 hour', $2::timestamptz, timestamptz 'epoch'), $3::timestamptz, interval '1 hour')`, 'SELECT i, 3 FROM generate_series(1, 10) i'), [other, from, to]),
  );
  const backfillRefresh = await refreshAll();
  const { rows: [sizes] } = await pool.query(
    `SELECT (SELECT count(*) FROM dimension_partials WHERE pipeline_id = $1) AS partial_rows, (SELECT count(*) FROM dimension_partials WHERE pipeline_id = $2) AS other_rows`,
    [id, other],
  );
  console.log(JSON.stringify({
    server: (await pool.query(`SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'`)).rows[0]?.extversion,
    seededMs: Math.round(seeded.ms),
    rows: sizes,
    answersAgree: agree,
    'read p50 / p99 ms': reads,
    'refresh ms per level': { materialize30Days: materialized, lateEvent20DaysBack: lateEvent, otherPipelineBackfill: backfillRefresh },
    otherPipelineBackfillInsertMs: Math.round(backfill.ms),
  }, null, 1));
  if (!agree) process.exitCode = 1;
} finally {
  await pool.end().catch(() => undefined);
  // BENCH_KEEP_DB=1 keeps the database (to EXPLAIN the reads).
  if (process.env.BENCH_KEEP_DB) process.stderr.write(`kept ${dbUrl}\n`);
  else await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((error) => process.stderr.write(`drop: ${error.message}\n`));
  await admin.end();
}
