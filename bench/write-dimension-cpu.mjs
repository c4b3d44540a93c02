#!/usr/bin/env node
// PostgreSQL CPU per event of the writer's batch statement for a pipeline with 0 dimensions
// against one with 4 dimensions and 2 measures (issue 24's write cost), on a migrated Dash database
// of either storage mode, through the writer's EventsRepository (so the ingestor's pre-aggregation
// is part of it: its Node CPU per event is reported too). Rounds alternate the two pipelines.
//   node bench/write-dimension-cpu.mjs <dist dir> <database url of a migrated Dash database> [events per batch] [rounds] [low]
// `low`: the fourth dimension is the note (1 value) instead of the sku (97 values).
// CPU is that of the backend serving this connection (/proc/<pid>/stat, user + system), so run it on
// the database's host. The events are the bench's ~330-byte orders (bench/lib/payload.mjs), in
// one minute, distinct ids; dimension cardinalities 4 (currency), 1 (country), 97 (sku) and 3 (quantity).
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { eventObject } from './lib/payload.mjs';

const require = createRequire(import.meta.url);
const { EventsRepository } = require(resolve(process.argv[2], 'libs/infra/src/lib/database/repositories/events.repository.js'));
const url = process.argv[3];
const N = Number(process.argv[4] ?? 1000);
const ROUNDS = Number(process.argv[5] ?? 10);
const LOW = process.argv[6] === 'low';

// One connection: the repository's statements and this script's run on the same backend.
const client = new pg.Pool({ connectionString: url, max: 1 });
const { rows: [{ pid }] } = await client.query('SELECT pg_backend_pid() AS pid');
const ticks = () => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
};
const TICK_MS = 10; // USER_HZ 100
const { rows: [meta] } = await client.query(`SELECT value FROM dash_meta WHERE key = 'storage_mode'`);
const mode = meta?.value ?? 'native';
const repository = new EventsRepository(client, mode);

const tag = randomBytes(3).toString('hex');
const pipeline = async (label, dimensions, measures) =>
  (await client.query(`INSERT INTO pipelines (name, source, signing_secret, dimensions, measures) VALUES ($1, '{"type":"webhook"}', 'whsec_unused', $2, $3) RETURNING id`, [`cpu ${label} ${tag}`, dimensions, measures])).rows[0].id;
const plain = await pipeline('0 dimensions', [], []);
const dimensioned = await pipeline('4 dimensions 2 measures', ['data.object.currency', 'data.object.customer.country', LOW ? 'data.object.note' : 'data.object.items.0.sku', 'data.object.items.0.quantity'], ['data.object.amount', 'data.object.items.0.price']);

const minute = Math.floor(Date.now() / 60_000) * 60_000;
let serial = 0;
function batch(pipelineId) {
  serial += 1;
  const at = new Date(minute);
  return Array.from({ length: N }, (_, i) => ({ pipelineId, id: `${tag}_${serial}_${i}`, type: 'order.created', occurredAt: minute + (i % 60_000), receivedAt: Date.now(), payloadJson: JSON.stringify(eventObject(serial * N + i, at)) }));
}

async function measure(pipelineId) {
  const events = batch(pipelineId);
  const before = ticks();
  const node = process.cpuUsage();
  const wall = process.hrtime.bigint();
  await repository.writeBatch(events);
  const nodeUs = process.cpuUsage(node);
  // /proc is updated at tick granularity: a short sleep lets the last ticks land.
  await new Promise((r) => setTimeout(r, 20));
  return { ticks: ticks() - before, wallUsPerEvent: Number(process.hrtime.bigint() - wall) / 1000 / N, nodeUsPerEvent: (nodeUs.user + nodeUs.system) / N };
}

// Warm-up: plans, caches (the repository learns each pipeline's paths), the rollup rows of this minute exist.
await measure(plain);
await measure(dimensioned);
const results = { plain: [], dimensioned: [] };
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['plain', 'dimensioned'] : ['dimensioned', 'plain'];
  for (const side of order) results[side].push(await measure(side === 'plain' ? plain : dimensioned));
}
// CPU: all rounds' ticks over all their events (one batch is a few ticks: a per-round median would be coarse); wall: the median round.
const median = (list) => [...list].sort((a, b) => a - b)[list.length >> 1];
const summary = Object.fromEntries(
  Object.entries(results).map(([side, list]) => [
    side,
    { cpuUsPerEvent: Number(((list.reduce((sum, r) => sum + r.ticks, 0) * TICK_MS * 1000) / (list.length * N)).toFixed(1)), wallUsPerEvent: Number(median(list.map((r) => r.wallUsPerEvent)).toFixed(1)), nodeUsPerEvent: Number(median(list.map((r) => r.nodeUsPerEvent)).toFixed(1)), ticksPerRound: list.map((r) => r.ticks) },
  ]),
);
const ratio = summary.dimensioned.cpuUsPerEvent / summary.plain.cpuUsPerEvent;
console.log(JSON.stringify({ mode, cardinality: LOW ? 'low' : 'sku', eventsPerBatch: N, rounds: ROUNDS, ...summary, cpuRatio: Number(ratio.toFixed(2)), wallRatio: Number((summary.dimensioned.wallUsPerEvent / summary.plain.wallUsPerEvent).toFixed(2)) }));
await client.query('DELETE FROM pipelines WHERE id = ANY($1)', [[plain, dimensioned]]).catch(() => undefined);
await client.end();
