#!/usr/bin/env node
// Breakdown query speed (issue 24): GET /api/pipelines/:id/breakdown over 30 days of a dimension
// with 1,000 values, about 10 million events' worth of rollups, through the web app's HTTP API.
//   node bench/breakdown-query.mjs <dist dir> <admin url of a server> [requests] [label]
// Creates a database on that server (STORAGE_MODE=auto: timescale where the extension is loaded),
// migrates it with the web app, seeds rollup rows directly (not events: the breakdown reads only
// rollups), starts a web node on it, times `requests` sequential requests without and with a
// measure (alternating), prints p50/p99, drops the database.
//
// What is seeded, for a range of 30 days ending now: daily rows for every day, hourly rows for
// every hour, per-minute rows for the first and last 3 hours of the range (the only minutes a
// 30-day breakdown reads; the rows of other minutes sit outside the index range it scans), and,
// where the build has them, weekly rows made from the daily ones for the closed weeks and 6-hour
// blocks made from the hours before the pipeline's mark. Per
// value and hour ~14 events (1,000 values × 720 hours × 14 ≈ 10 M); per minute, 230 events over
// ~206 distinct values (what 230 draws from 1,000 values give). Each row holds its count and one
// measure.
import pg from 'pg';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);

// BENCH_KEEP_DB=1 keeps the database (to EXPLAIN the reads).
const [distDir, adminUrl, requestsArg, label = ''] = process.argv.slice(2);
const REQUESTS = Number(requestsArg ?? 200);
const name = `dash_bq_${randomBytes(4).toString('hex')}`;
const dbUrl = new URL(adminUrl);
dbUrl.pathname = `/${name}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const token = `bench-admin-${randomBytes(12).toString('hex')}`;
const port = 20000 + Math.floor(Math.random() * 20000);
const env = {
  ...process.env,
  DATABASE_URL: dbUrl.toString(),
  STORAGE_MODE: 'auto',
  DASH_KEY_PREFIX: name,
  DASH_ADMIN_TOKEN: token,
  PORT: String(port),
  NODE_ENV: 'production',
  DASH_MIGRATE: 'boot',
  API_READS_PER_SECOND: '100000',
  LOG_LEVEL: 'warn',
};
let web = null;
const client = new pg.Client({ connectionString: dbUrl.toString() });
try {
  const migrate = spawn(process.execPath, [resolve(distDir, 'apps/web/src/migrate.js')], { env, stdio: 'ignore' });
  await new Promise((ok, fail) => migrate.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`migrate exited ${code}`)))));
  await client.connect();
  const mode = (await client.query(`SELECT value FROM dash_meta WHERE key = 'storage_mode'`)).rows[0]?.value;
  const { rows: [{ id }] } = await client.query(
    `INSERT INTO pipelines (name, source, signing_secret, dimensions, measures) VALUES ('bench breakdown', '{"type":"webhook"}', 'whsec_unused', '{data.v}', '{data.n}') RETURNING id`,
  );
  const to = new Date();
  const from = new Date(to.getTime() - 30 * 86_400_000);
  const seeded = Date.now();
  // count per value and hour: 4..24 (≈14); the measure data.n of every event: count, sum, min, max.
  const rows = (table, unit, start, end, valuesSql) => `
    INSERT INTO ${table} (pipeline_id, dimension, bucket, value, count, measures, measure_counts, sums, mins, maxes, skipped)
    SELECT $1, 'data.v', b, 'v' || lpad(i::text, 4, '0'), c, '{data.n}', ARRAY[c], ARRAY[c * 50], '{1}', '{99}', '{0}'
    FROM generate_series(date_trunc('${unit}', $2::timestamptz, 'UTC'), $3::timestamptz, interval '1 ${unit}') b
      CROSS JOIN LATERAL (${valuesSql}) v(i, c)`;
  const hourly = `SELECT i, 4 + (i * 7 + extract(epoch FROM b)::bigint / 3600) % 21 FROM generate_series(1, 1000) i`;
  await client.query(rows('dimension_rollup_1d', 'day', from, to, `SELECT i, 24 * (4 + i % 21) FROM generate_series(1, 1000) i`), [id, from, to]);
  await client.query(rows('dimension_rollup_1h', 'hour', from, to, hourly), [id, from, to]);
  // The weeks before the mark's week, made from their days as the ingestors make them, and the
  // 6-hour blocks before the mark from their hours (a build from before weeks or blocks has no such
  // table, and reads days or hours instead).
  const migrations = (file) => {
    try {
      return require(resolve(distDir, 'libs/infra/src/lib/database/migrations', file));
    } catch {
      return {};
    }
  };
  const closing = migrations('1765324800000-day-rollups-compacted.js');
  const blocks = migrations('1765411200000-rollup-blocks.js');
  const mark = `(SELECT ${blocks.BLOCKS_FROM_HOURS ? 'rollups_closed_before' : 'day_rollups_before'} FROM pipelines WHERE id = $1)`;
  if (closing.WEEKS_FROM_DAYS) {
    await client.query(closing.coarserRollupsSql(closing.WEEKS_FROM_DAYS, `f.pipeline_id = $1 AND f.bucket < date_bin('7 days', ${mark}, timestamptz 'epoch')`), [id]);
    await client.query('VACUUM ANALYZE dimension_rollup_1w');
  }
  if (blocks.BLOCKS_FROM_HOURS) {
    await client.query(closing.coarserRollupsSql(blocks.BLOCKS_FROM_HOURS, `f.pipeline_id = $1 AND f.bucket < ${mark}`), [id]);
    await client.query('VACUUM ANALYZE dimension_rollup_6h');
  }
  const minutes = `SELECT 1 + (k + (extract(epoch FROM b)::bigint / 60) * 206) % 1000, 1 + k % 2 FROM generate_series(0, 205) k`;
  for (const [start, end] of [
    [from, new Date(from.getTime() + 3 * 3_600_000)],
    [new Date(to.getTime() - 3 * 3_600_000), to],
  ])
    await client.query(rows('dimension_rollup_1m', 'minute', start, end, minutes), [id, start, end]);
  await client.query('VACUUM ANALYZE dimension_rollup_1d, dimension_rollup_1h, dimension_rollup_1m');
  const counts = (await client.query(`SELECT (SELECT count(*) FROM dimension_rollup_1d) AS d, (SELECT count(*) FROM dimension_rollup_1h) AS h, (SELECT count(*) FROM dimension_rollup_1m) AS m, (SELECT sum(count) FROM dimension_rollup_1h) AS events`)).rows[0];
  process.stderr.write(`seeded in ${((Date.now() - seeded) / 1000).toFixed(1)} s: ${JSON.stringify(counts)}\n`);

  web = spawn(process.execPath, [resolve(distDir, 'apps/web/src/main.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/api/pipelines/${id}`, { headers: { authorization: `Bearer ${token}` } })).ok) break;
    } catch {
      /* not listening yet */
    }
    if (i > 600) throw new Error('web did not start');
    await sleep(100);
  }
  const url = (measure) => `${base}/api/pipelines/${id}/breakdown?by=data.v&from=${from.toISOString()}&to=${to.toISOString()}${measure ? '&measure=data.n' : ''}`;
  const once = async (measure) => {
    const started = process.hrtime.bigint();
    const response = await fetch(url(measure), { headers: { authorization: `Bearer ${token}` } });
    const body = await response.json();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (!response.ok) throw new Error(`${response.status} ${JSON.stringify(body)}`);
    return { ms, body };
  };
  const check = (await once(true)).body;
  const total = check.total ?? check.items.reduce((sum, item) => sum + item.count, 0);
  for (let i = 0; i < 10; i++) await once(i % 2 === 0); // warm-up
  const times = { plain: [], measure: [] };
  for (let i = 0; i < REQUESTS * 2; i++) {
    const measure = i % 2 === 1;
    times[measure ? 'measure' : 'plain'].push((await once(measure)).ms);
  }
  const pct = (list, p) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.ceil((p / 100) * list.length) - 1)];
  const report = Object.fromEntries(Object.entries(times).map(([k, list]) => [k, { n: list.length, p50: Number(pct(list, 50).toFixed(1)), p99: Number(pct(list, 99).toFixed(1)), max: Number(Math.max(...list).toFixed(1)) }]));
  console.log(JSON.stringify({ label, mode, eventsInRange: total, items: check.items.length, rows: counts, ...report }));
} finally {
  web?.kill('SIGTERM');
  await sleep(500);
  await client.end().catch(() => undefined);
  if (process.env.BENCH_KEEP_DB) process.stderr.write(`kept ${dbUrl}\n`);
  else await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((error) => process.stderr.write(`drop: ${error.message}\n`));
  await admin.end();
}
