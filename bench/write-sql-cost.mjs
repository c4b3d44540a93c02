#!/usr/bin/env node
// PostgreSQL-side cost of one Dash flush (COPY into staging + the move statement + commit) beside
// a raw COPY of the same rows into events, for N rows; the last round prints EXPLAIN ANALYZE.
//   node bench/write-sql-cost.mjs <dist dir> <database url of a migrated Dash database with a pipeline> [N]
// LATEST_FIX=1 rewrites the `latest` step to build the last-event JSON for one row per pipeline
// instead of for every stored row (a proposed change; see docs/performance.md). QUIET=1: no plan.
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const sql = require(process.argv[2] + '/apps/ingestor/src/writer/event-writer.sql.js');
const url = process.argv[3];
const N = Number(process.argv[4] ?? 1000);
const client = new pg.Client({ connectionString: url });
await client.connect();
const { rows: [p] } = await client.query(`SELECT id FROM pipelines LIMIT 1`);
const at = new Date().toISOString();
const body = JSON.stringify({ type: 'order.created', timestamp: at, data: { object: { order: 'ord_1', amount: 1234, currency: 'usd', customer: { id: 'cus_1', country: 'NL', email: 'b@example.com' }, items: [{ sku: 'sku_1', quantity: 1, price: 1299 }], note: 'sized like a commerce webhook' } } });
const rows = (prefix) => Array.from({ length: N }, (_, i) => `${p.id}\t${prefix}_${i}\torder.created\t${at}\t${at}\t${body}\n`).join('');
async function copy(table, text) {
  await new Promise((res, rej) => { const s = client.query(copyStreams.from(`COPY ${table} (pipeline_id, event_id, type, occurred_at, received_at, payload) FROM STDIN`)); s.on('finish', res); s.on('error', rej); s.end(text); });
}
const time = async (f) => { const t = process.hrtime.bigint(); await f(); return Number(process.hrtime.bigint() - t) / 1e6; };
for (let round = 0; round < 6; round++) {
  const tag = `r${round}_${Date.now()}`;
  const raw = await time(async () => { await client.query('BEGIN'); await copy('events', rows('raw' + tag)); await client.query('COMMIT'); });
  await client.query('BEGIN');
  await client.query(sql.CREATE_STAGING);
  const stage = await time(() => copy('dash_staging', rows('dash' + tag)));
  let moveSql = sql.moveStagedSql('native');
  if (process.env.LATEST_FIX) {
    const start = moveSql.indexOf(', latest AS (');
    const end = moveSql.indexOf('), totals AS (');
    const iso = (c) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
    moveSql = moveSql.slice(0, start) + `, latest_row AS (
    SELECT DISTINCT ON (pipeline_id) pipeline_id, seq FROM stored ORDER BY pipeline_id, seq DESC
  ), latest AS (
    SELECT s.pipeline_id, s.received_at, jsonb_build_object('id', s.event_id, 'type', s.type, 'occurredAt', ${iso('s.occurred_at')}, 'receivedAt', ${iso('s.received_at')}, 'payload', s.payload) AS event
    FROM latest_row r JOIN stored s ON s.pipeline_id = r.pipeline_id AND s.seq = r.seq
  ` + moveSql.slice(end);
  }
  let move;
  if (round === 5 && !process.env.QUIET) {
    const { rows: plan } = await client.query('EXPLAIN (ANALYZE, BUFFERS, TIMING) ' + moveSql);
    console.log(plan.map((r) => r['QUERY PLAN']).join('\n'));
  } else move = await time(() => client.query(moveSql));
  const commit = await time(() => client.query('COMMIT'));
  console.log(`round ${round}: raw COPY ${raw.toFixed(1)} ms | dash: COPY staging ${stage.toFixed(1)} ms + move ${move?.toFixed(1)} ms + commit ${commit.toFixed(1)} ms`);
}
await client.end();
