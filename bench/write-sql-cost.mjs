#!/usr/bin/env node
// PostgreSQL-side cost of one Dash flush (the writer's one statement, its own transaction) beside
// a raw COPY of the same rows into events, for N rows; the last round prints EXPLAIN ANALYZE.
//   node bench/write-sql-cost.mjs <dist dir> <database url of a migrated Dash database with a pipeline> [N]
// Works on native partitions and on a TimescaleDB hypertable database alike. QUIET=1: no plan. CPU is the server process's (from /proc), so run it on the database's host.
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
const require = createRequire(import.meta.url);
const sql = require(resolve(process.argv[2], 'libs/infra/src/lib/database/repositories/events.sql.js'));
const domain = require(resolve(process.argv[2], 'libs/domain/src/index.js'));
const url = process.argv[3];
const N = Number(process.argv[4] ?? 1000);
const client = new pg.Client({ connectionString: url });
await client.connect();
const { rows: [p] } = await client.query(`SELECT id FROM pipelines LIMIT 1`);
const { rows: [{ pid }] } = await client.query('SELECT pg_backend_pid() AS pid');
const serverCpuMs = () => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
const now = Date.now();
const at = new Date(now).toISOString();
const payload = { type: 'order.created', timestamp: at, data: { object: { order: 'ord_1', amount: 1234, currency: 'usd', customer: { id: 'cus_1', country: 'NL', email: 'b@example.com' }, items: [{ sku: 'sku_1', quantity: 1, price: 1299 }], note: 'sized like a commerce webhook' } } };
const body = JSON.stringify(payload);
const copyRows = (prefix) => Array.from({ length: N }, (_, i) => `${p.id}\t${prefix}_${i}\torder.created\t${at}\t${at}\t${body}\n`).join('');
const events = (prefix) => Array.from({ length: N }, (_, i) => ({ pipelineId: p.id, id: `${prefix}_${i}`, type: 'order.created', occurredAt: now, receivedAt: now, payloadJson: body }));
async function copy(text) {
  await new Promise((resolve, reject) => {
    const stream = client.query(copyStreams.from(`COPY events (pipeline_id, event_id, type, occurred_at, received_at, payload) FROM STDIN`));
    stream.on('finish', resolve);
    stream.on('error', reject);
    stream.end(text);
  });
}
// The statement of the database's storage mode (a hypertable database gets the TimescaleDB one).
const { rows: [meta] } = await client.query(`SELECT value FROM dash_meta WHERE key = 'storage_mode'`);
const statement = { name: 'dash_write', text: sql.writeBatchSql(meta?.value ?? 'native') };
const measure = async (f) => {
  const wall = process.hrtime.bigint();
  const cpu = serverCpuMs();
  await f();
  return `${(Number(process.hrtime.bigint() - wall) / 1e6).toFixed(1)} ms (server CPU ~${serverCpuMs() - cpu} ms)`;
};
const ROUNDS = 8;
for (let round = 0; round < ROUNDS; round++) {
  const tag = `r${round}_${Date.now()}`;
  const raw = await measure(async () => {
    await client.query('BEGIN');
    await copy(copyRows('raw' + tag));
    await client.query('COMMIT');
  });
  // No groups pre-aggregated by the ingestor (this pipeline has no dimensions).
  const values = [`[${events('dash' + tag).map(domain.eventRecordJson).join(',')}]`, '{"plans":[],"groups":[]}'];
  if (round === ROUNDS - 1 && !process.env.QUIET) {
    const { rows: plan } = await client.query({ text: 'EXPLAIN (ANALYZE, BUFFERS, TIMING) ' + statement.text, values });
    console.log(plan.map((r) => r['QUERY PLAN']).join('\n'));
  } else {
    const dash = await measure(() => client.query({ ...statement, values }));
    console.log(`round ${round}: raw COPY + commit ${raw} | Dash write statement ${dash}`);
  }
}
await client.end();
