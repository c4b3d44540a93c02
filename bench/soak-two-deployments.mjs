#!/usr/bin/env node
// Two Dash deployments on one Redis, side by side, under a steady webhook rate: does each store
// every event it acknowledged? (Issue 14, item 8: with one shared key prefix the ingestors took
// each other's jobs and dropped the other deployment's events without a trace.)
//
//   npx nx run-many -t build --projects=web,ingestor && node bench/soak-two-deployments.mjs
//   SOAK_MINUTES=8 SOAK_RATE=500 node bench/soak-two-deployments.mjs
//
// What it does: deployment A (its own database, key prefix P) starts and gets a pipeline.
// Deployment B (another database) is started with the same prefix P, as in the report: it must
// refuse to start (the script records its message). B then runs with a prefix of its own on the
// same Redis. Both get SOAK_RATE signed webhooks a second for SOAK_MINUTES; afterwards each
// deployment's acknowledged events are reconciled with what its database stored, and the
// events recorded as orphaned (a pipeline the database does not have) are listed. Exit code 1
// when an acknowledged event is missing, or when B started on A's prefix.
import { Redis } from 'ioredis';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeArgs } from '../scripts/launch.js';
import { singlePool } from './lib/payload.mjs';
import { Child, freePort, pacedSend, sleep, waitUntil } from './lib/util.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const minutes = Number(process.env.SOAK_MINUTES ?? 5);
const rate = Number(process.env.SOAK_RATE ?? 200);
const PG_ADMIN_URL = process.env.SOAK_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.SOAK_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = `dash_soak_${randomBytes(3).toString('hex')}`;
const logDir = join(tmpdir(), run);
mkdirSync(logDir, { recursive: true });
const log = (message) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const databaseUrl = (name) => Object.assign(new URL(PG_ADMIN_URL), { pathname: `/${name}` }).toString();
const deployments = {
  a: { name: `${run}_a`, prefix: run, token: `soak-admin-${randomBytes(12).toString('hex')}`, children: [] },
  b: { name: `${run}_b`, prefix: run, token: `soak-admin-${randomBytes(12).toString('hex')}`, children: [] },
};

function env(deployment, role, port) {
  return {
    ...process.env,
    NODE_ENV: 'production',
    // Production migrates as a release step (DASH_MIGRATE=off); the soak's fresh databases are migrated at boot.
    DASH_MIGRATE: 'boot',
    NO_COLOR: '1',
    APP_ROLE: role,
    DATABASE_URL: databaseUrl(deployment.name),
    REDIS_URL,
    DASH_KEY_PREFIX: deployment.prefix,
    DASH_ADMIN_TOKEN: deployment.token,
    PORT: String(port ?? 0),
  };
}

/** Web and ingestor of one deployment; resolves with the web port, or rejects with the reason it stopped. */
async function start(deployment, label) {
  const port = await freePort();
  const web = new Child(`${label}-web`, nodeArgs('web'), { env: env(deployment, 'web', port), cwd: root, logPath: join(logDir, `${label}-web.log`) });
  deployment.children.push(web);
  let exited = false;
  void web.exit.then(() => (exited = true));
  await waitUntil(async () => exited || (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok, { timeoutMs: 90_000, intervalMs: 100, label: `${label} web /health` });
  if (exited) throw new Error(web.lines.find((line) => /DASH_KEY_PREFIX/.test(line)) ?? web.lines.slice(-5).join('\n'));
  const ingestor = new Child(`${label}-ingestor`, nodeArgs('ingestor'), { env: env(deployment, 'ingestor'), cwd: root, logPath: join(logDir, `${label}-ingestor.log`) });
  deployment.children.push(ingestor);
  await ingestor.waitForLine(/ingestor .* running/, 90_000);
  deployment.port = port;
  return port;
}

async function createPipeline(deployment) {
  const response = await fetch(`http://127.0.0.1:${deployment.port}/api/pipelines`, {
    method: 'POST',
    headers: { authorization: `Bearer ${deployment.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `soak ${deployment.name}`, source: { type: 'webhook' } }),
  });
  if (response.status !== 201) throw new Error(`create pipeline on ${deployment.name}: ${response.status} ${await response.text()}`);
  const body = await response.json();
  deployment.pipelineId = body.id;
  deployment.secret = body.signingSecret;
}

async function query(deployment, sql, params = []) {
  const client = new pg.Client({ connectionString: databaseUrl(deployment.name) });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Sends to one deployment minute by minute (a fresh signed pool each minute: signatures age out after 5). */
async function soak(deployment, label) {
  const totals = { sent: 0, accepted: 0, statusCodes: {}, errors: 0 };
  for (let minute = 0; minute < Math.ceil(minutes); minute += 1) {
    const seconds = Math.min(60, minutes * 60 - minute * 60);
    const pool = singlePool(deployment.secret, Math.ceil(rate * seconds), `${label}_m${minute}`);
    const result = await pacedSend({ port: deployment.port, path: `/webhooks/${deployment.pipelineId}`, pool, rate, durationMs: seconds * 1000 });
    totals.sent += result.sent;
    totals.accepted += result.acceptedAt.length;
    totals.errors += result.errors;
    for (const [status, count] of Object.entries(result.statusCodes)) totals.statusCodes[status] = (totals.statusCodes[status] ?? 0) + count;
    log(`${label}: minute ${minute + 1}: ${result.acceptedAt.length}/${result.sent} acknowledged`);
  }
  return totals;
}

async function reconcile(deployment, totals) {
  const stored = async () => Number((await query(deployment, 'SELECT count(*) AS n FROM events WHERE pipeline_id = $1', [deployment.pipelineId]))[0].n);
  // The backlog drains after the last answer: wait for the count to reach the acknowledged one, or to stop moving.
  let last = -1;
  let still = 0;
  await waitUntil(
    async () => {
      const now = await stored();
      still = now === last ? still + 1 : 0;
      last = now;
      return now >= totals.accepted || still >= 20;
    },
    { timeoutMs: 180_000, intervalMs: 500, label: `${deployment.name} drained` },
  ).catch(() => undefined);
  const orphaned = (await query(deployment, 'SELECT pipeline_id, count(*) AS n FROM orphaned_events GROUP BY pipeline_id')).map((row) => `${row.pipeline_id}: ${row.n}`);
  return { sent: totals.sent, acknowledged: totals.accepted, stored: last, lost: Math.max(0, totals.accepted - last), statusCodes: totals.statusCodes, networkErrors: totals.errors, orphanedEvents: orphaned };
}

async function cleanup() {
  for (const deployment of Object.values(deployments)) for (const child of deployment.children.reverse()) await child.stop().catch(() => child.kill());
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  for (const deployment of Object.values(deployments)) await admin.query(`DROP DATABASE IF EXISTS "${deployment.name}" WITH (FORCE)`).catch((error) => log(error.message));
  await admin.end();
  const redis = new Redis(REDIS_URL);
  for (const prefix of new Set(Object.values(deployments).map((d) => d.prefix))) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  }
  redis.disconnect();
}

let failed = false;
try {
  log(`deployment A: database ${deployments.a.name}, prefix ${deployments.a.prefix}`);
  await start(deployments.a, 'a');
  await createPipeline(deployments.a);

  log(`deployment B: database ${deployments.b.name}, the same prefix ${deployments.b.prefix}`);
  let refusal = null;
  try {
    await start(deployments.b, 'b-shared');
  } catch (error) {
    refusal = error.message;
  }
  if (refusal) log(`B refused to start on A's prefix: ${refusal}`);
  else {
    log('B STARTED on A\'s prefix: the prefix is not bound to one database');
    failed = true;
  }
  for (const child of deployments.b.children.splice(0)) await child.stop();
  deployments.b.prefix = `${run}_b`;
  log(`deployment B again, prefix ${deployments.b.prefix} (same Redis)`);
  await start(deployments.b, 'b');
  await createPipeline(deployments.b);

  log(`soak: ${rate} webhooks/s to each deployment for ${minutes} min`);
  const [totalsA, totalsB] = await Promise.all([soak(deployments.a, 'a'), soak(deployments.b, 'b')]);
  await sleep(1000);
  const report = {
    minutes,
    ratePerDeployment: rate,
    secondOnSamePrefix: refusal ? `refused: ${refusal}` : 'started (bad)',
    a: await reconcile(deployments.a, totalsA),
    b: await reconcile(deployments.b, totalsB),
    logs: logDir,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    `\n  deployment  acknowledged  stored  lost  orphaned\n` +
      `  A           ${String(report.a.acknowledged).padStart(12)}  ${String(report.a.stored).padStart(6)}  ${String(report.a.lost).padStart(4)}  ${report.a.orphanedEvents.length}\n` +
      `  B           ${String(report.b.acknowledged).padStart(12)}  ${String(report.b.stored).padStart(6)}  ${String(report.b.lost).padStart(4)}  ${report.b.orphanedEvents.length}\n`,
  );
  if (report.a.lost > 0 || report.b.lost > 0) failed = true;
} catch (error) {
  log(`soak failed: ${error.stack ?? error.message}`);
  failed = true;
} finally {
  await cleanup().catch((error) => log(`cleanup: ${error.message}`));
}
process.exit(failed ? 1 : 0);
