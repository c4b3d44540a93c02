#!/usr/bin/env node
// Instructions the web app executes per accepted webhook, of one or more builds, counted by
// valgrind (callgrind) rather than timed: on a shared 2-core VM the CPU time of the same work
// spreads by ±20 % from run to run, so a few per cent between builds cannot be seen by timing.
//   node bench/web-instructions.mjs <dist dir> [<dist dir> ...]
// REQUESTS (measured, default 4000), WARMUP (default 4000), CONNECTIONS (default 20), IDLE_SECONDS
// (default 10), ROUNDS (default 1), NODE_FLAGS (added to the web's, e.g. --predictable: no
// concurrent compilation or GC, a fixed hash seed, so that the same work counts alike), KEEP_DUMPS=1
// (keep callgrind's files, for callgrind_annotate). Events are really queued (no ingestor drains them; the backlog
// limit is lifted). Background work runs by the clock, and valgrind slows the clock's work ~50×
// against requests, so an idle window is counted first and its rate taken out of the loaded one;
// the idle rate is printed on its own (instructions per second at any load).
// Needs valgrind (Debian's). Keep the counts of one run together: they depend on the host's Node.
import autocannon from 'autocannon';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { nodeFlags } from '../scripts/launch.js';
import { alternating, createWebhookPipeline, dropBenchData, printByBuild } from './lib/builds.mjs';
import { singlePool } from './lib/payload.mjs';
import { freePort, sleep, waitUntil } from './lib/util.mjs';

const dists = process.argv.slice(2);
if (dists.length === 0) throw new Error('usage: node bench/web-instructions.mjs <dist dir> [<dist dir> ...]');
const REQUESTS = Number(process.env.REQUESTS ?? 4000);
const WARMUP = Number(process.env.WARMUP ?? 4000);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 20);
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const adminUrl = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const token = `bench-admin-${randomBytes(8).toString('hex')}`;
const outDir = mkdtempSync(join(tmpdir(), 'dash-callgrind-'));

/**
 * Dumps the counters since the last dump (callgrind zeroes them) and returns the instructions of
 * that part, all of them and those of V8's optimizing compilers (TurboFan, Maglev): under valgrind
 * V8 still compiles after thousands of requests, and how much it compiles in a window varies from
 * run to run, while a node at full speed has long finished.
 */
function dump(pid) {
  const before = new Set(readdirSync(outDir));
  execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
  const file = readdirSync(outDir).find((name) => !before.has(name) && name.startsWith(`web.${pid}.`));
  if (!file) throw new Error('callgrind wrote no dump');
  const text = readFileSync(join(outDir, file), 'utf8');
  const match = /^(?:summary|totals): (\d+)/m.exec(text);
  if (!match) throw new Error(`no totals in ${file}`);
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', join(outDir, file)], { encoding: 'utf8', maxBuffer: 256 << 20 });
  let compiler = 0;
  for (const line of annotated.split('\n')) {
    const row = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$/.exec(line);
    if (row && /v8::internal::(compiler|maglev)::/.test(row[2])) compiler += Number(row[1].replaceAll(',', ''));
  }
  return { all: Number(match[1]), compiler };
}

async function startWeb(dist, database) {
  const port = await freePort();
  const env = { ...process.env, NODE_ENV: 'production', DASH_MIGRATE: 'off', NO_COLOR: '1', APP_ROLE: 'web', DATABASE_URL: database.url, DASH_KEY_PREFIX: database.name, DASH_ADMIN_TOKEN: token, PORT: String(port), INGEST_MAX_BACKLOG: '1000000000' };
  execFileSync(process.execPath, [...nodeFlags('migrate'), resolve(dist, 'apps/web/src/migrate.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const valgrind = ['--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${outDir}/web.%p`];
  const child = spawn('valgrind', [...valgrind, process.execPath, ...nodeFlags('web'), ...(process.env.NODE_FLAGS ?? '').split(' ').filter(Boolean), resolve(dist, 'apps/web/src/main.js')], { env, stdio: ['ignore', 'ignore', 'ignore'] });
  await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok, { timeoutMs: 300_000, intervalMs: 500, label: 'web /health' });
  return { child, port };
}

/** Ingest jobs the node has queued (its /metrics); read outside the counted windows' requests. */
async function queuedJobs(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const match = /^dash_ingest_jobs_total(?:\{[^}]*\})? (\d+)/m.exec(text);
  if (!match) throw new Error('no dash_ingest_jobs_total in /metrics');
  return Number(match[1]);
}

const send = (port, path, pool, amount) =>
  new Promise((done, fail) => {
    let next = 0;
    autocannon(
      { url: `http://127.0.0.1:${port}`, connections: CONNECTIONS, amount, timeout: 60, requests: [{ method: 'POST', path, setupRequest: (request) => Object.assign(request, pool[next++]) }] },
      (error, output) => (error ? fail(error) : done(output)),
    );
  });

const results = {};
const databases = [];
try {
  for (const { round, dist } of alternating(dists, ROUNDS)) {
    const name = `dash_webinstr_${randomBytes(3).toString('hex')}`;
    const database = { name, url: Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString() };
    databases.push(database);
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const web = await startWeb(dist, database);
    try {
      const pipeline = await createWebhookPipeline(web.port, token, 'web-instructions');
      const path = `/webhooks/${pipeline.id}`;
      const pool = singlePool(pipeline.signingSecret, WARMUP + REQUESTS, `i${round}_${randomBytes(3).toString('hex')}`);
      const warm = await send(web.port, path, pool.slice(0, WARMUP), WARMUP);
      if (warm.non2xx) throw new Error(`warm-up: ${warm.non2xx} non-2xx answers`);
      execFileSync('callgrind_control', ['-i', 'on', String(web.child.pid)], { stdio: 'ignore' });
      dump(web.child.pid); // the switch itself
      let started = Date.now();
      await sleep(IDLE_SECONDS * 1000);
      const idle = dump(web.child.pid);
      const idleSeconds = (Date.now() - started) / 1000;
      const idlePerSecond = idle.all / idleSeconds;
      const idleRunPerSecond = (idle.all - idle.compiler) / idleSeconds;
      const jobsBefore = await queuedJobs(web.port);
      started = Date.now();
      const run = await send(web.port, path, pool.slice(WARMUP), REQUESTS);
      const loaded = dump(web.child.pid);
      const seconds = (Date.now() - started) / 1000;
      const jobs = (await queuedJobs(web.port)) - jobsBefore;
      if (run.non2xx || run['2xx'] !== REQUESTS) throw new Error(`measured: ${run['2xx']} 2xx of ${REQUESTS} (non-2xx ${run.non2xx})`);
      const perRequest = (loaded.all - idlePerSecond * seconds) / REQUESTS;
      const runPerRequest = (loaded.all - loaded.compiler - idleRunPerSecond * seconds) / REQUESTS;
      const count = (n) => Math.round(n).toLocaleString('en');
      const line = `${count(runPerRequest)} instructions per 2xx without the optimizing compilers (${count(perRequest)} with; ${count(loaded.all / REQUESTS)} raw; ${seconds.toFixed(0)} s, ${(REQUESTS / jobs).toFixed(2)} events per job); idle ${count(idlePerSecond)} per second`;
      (results[dist] ??= []).push(line);
      console.log(`${dist}: ${line}`);
    } finally {
      web.child.kill('SIGTERM');
      await new Promise((done) => web.child.once('exit', done));
    }
  }
} finally {
  await dropBenchData(adminUrl, redisUrl, databases.map(({ name }) => name));
  if (process.env.KEEP_DUMPS === '1') console.log(`callgrind dumps kept in ${outDir} (web.<pid>.2: idle, .3: loaded)`);
  else rmSync(outDir, { recursive: true, force: true });
}
printByBuild(results);
