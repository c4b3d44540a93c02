#!/usr/bin/env node
// `npm run bench`: Dash measured side by side with the limits of this machine, in one run.
// Spawns the built web app and ingestor (dist/) against a throwaway database and Redis key
// prefix, runs every scenario with its baseline, prints a table and writes JSON.
//
//   npm run bench                          full run (about 4 minutes)
//   node bench/run.mjs --smoke --out f.json  every scenario briefly, no timing targets
//   BENCH_CPU_PROF=/tmp/prof npm run bench  also writes .cpuprofile files of web and ingestor
//   BENCH_ONLY=intake,fanout npm run bench  a subset (intake,batched,write,freshness,fanout,alerts; also breakdown, writecost and backfill, not in the default run)
// The write scenario also runs on a TimescaleDB hypertable (BENCH_TIMESCALE_URL, by default the
// server ../shared/scripts/timescaledb.sh runs on 5433), beside the native partitions.
// See docs/performance.md.
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { alertsBench, alertsFigures } from './alerts.mjs';
import { batchPool, eventBody, singlePool } from './lib/payload.mjs';
import { nodeFlags } from '../scripts/launch.js';
import { Child, cpuTicks, cpuTicksByPid, freePort, machineTicks, now, pacedSend, rssMb, sleep, summarize, waitUntil } from './lib/util.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const argValue = (name) => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
};
const smoke = args.includes('--smoke') || process.env.BENCH_SMOKE === '1';
const num = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);

const settings = {
  mode: smoke ? 'smoke' : 'full',
  intakeSeconds: num('BENCH_DURATION', smoke ? 1 : 20),
  batchSeconds: num('BENCH_BATCH_DURATION', smoke ? 1 : 10),
  warmupSeconds: num('BENCH_WARMUP', smoke ? 0 : 3),
  connections: num('BENCH_CONNECTIONS', smoke ? 20 : 50),
  batchSize: 100,
  writeEvents: num('BENCH_WRITE_N', smoke ? 2000 : 100_000),
  writeJobEvents: num('BENCH_WRITE_JOB_EVENTS', 100),
  writeRounds: num('BENCH_WRITE_ROUNDS', smoke ? 1 : 3),
  freshnessSeconds: num('BENCH_FRESHNESS_DURATION', smoke ? 1.5 : 10),
  lightRate: num('BENCH_LIGHT_RATE', 20),
  fanoutSockets: num('BENCH_SOCKETS', smoke ? 50 : 2000),
  fanoutWorkers: num('BENCH_FANOUT_WORKERS', smoke ? 1 : 4),
  fanoutSeconds: num('BENCH_FANOUT_DURATION', smoke ? 1.5 : 10),
  fanoutEventRate: num('BENCH_FANOUT_EVENT_RATE', 100),
  /** Distinct signed requests pre-built per second of intake (a pool that wraps would repeat ids). */
  poolRate: num('BENCH_POOL_RATE', smoke ? 3000 : 10_000),
  only: (process.env.BENCH_ONLY ?? 'intake,batched,write,freshness,fanout,alerts').split(',').map((s) => s.trim()),
  cpuProfileDir: process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : null,
};
const outPath = resolve(argValue('--out') ?? process.env.BENCH_OUT ?? join(root, 'bench/results.json'));
const PG_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const name = `dash_bench_${randomBytes(4).toString('hex')}`;
const databaseUrl = Object.assign(new URL(PG_ADMIN_URL), { pathname: `/${name}` }).toString();
const TIMESCALE_ADMIN_URL = process.env.BENCH_TIMESCALE_URL ?? 'postgres://postgres@127.0.0.1:5433/postgres';
const hypertableUrl = Object.assign(new URL(TIMESCALE_ADMIN_URL), { pathname: `/${name}` }).toString();
// A key prefix belongs to one database: the hypertable's ingestor gets its own.
const hypertableEnv = { DATABASE_URL: hypertableUrl, STORAGE_MODE: 'timescale', DASH_KEY_PREFIX: `${name}_ht` };
let hypertableCreated = false;
const adminToken = `bench-admin-${randomBytes(16).toString('hex')}`;
const logDir = join(tmpdir(), name);
// The apps run from a private copy of dist/, so a rebuild by someone else mid-run cannot pull
// files from under them. BENCH_DIST measures another build (e.g. an experiment in a worktree).
const distSource = resolve(process.env.BENCH_DIST ?? join(root, 'dist'));
const distCopy = join(root, 'tmp', name, 'dist');
const appMain = (app) => join(distCopy, `apps/${app}/src/main.js`);
mkdirSync(logDir, { recursive: true });

/** Dash's own key names (`RedisKeys`, from the build under test): partitioned queues and backlogs. */
const redisKeys = (prefix) => new (createRequire(import.meta.url)(join(distCopy, 'libs/infra/src/lib/redis/keys.js')).RedisKeys)(prefix);

const log = (message) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const round = (value, digits = 0) => (value === null || value === undefined || !Number.isFinite(value) ? null : Number(value.toFixed(digits)));

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------
const children = new Map(); // role -> Child
const workers = new Set();
const rssPeak = {}; // role -> MB over the whole run
let phasePeak = null; // role -> MB during the current phase

function appEnv(role, port) {
  return {
    ...process.env,
    NODE_ENV: 'production',
    // Production runs migrations as a release step (DASH_MIGRATE=off); the bench's fresh database is migrated at boot.
    DASH_MIGRATE: 'boot',
    NO_COLOR: '1',
    APP_ROLE: role,
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    DASH_KEY_PREFIX: name,
    DASH_ADMIN_TOKEN: adminToken,
    PORT: String(port ?? 0),
    ...(settings.cpuProfileDir ? { BENCH_CPU_PROF_DIR: settings.cpuProfileDir, BENCH_CPU_PROF_LABEL: role } : {}),
  };
}

function spawnChild(role, script, env, ipc = false) {
  const preload = settings.cpuProfileDir && (role === 'web' || role === 'ingestor') ? ['--require', join(root, 'bench/lib/cpu-profile.cjs')] : [];
  // Dash's apps run with the flags they are deployed with (scripts/launch.js).
  const deployed = role === 'web' || role === 'ingestor' ? nodeFlags(role) : [];
  // Extra node flags for one app in an experiment (e.g. BENCH_WEB_FLAGS=--trace-deopt).
  deployed.push(...(process.env[`BENCH_${role.toUpperCase()}_FLAGS`] ?? '').split(' ').filter(Boolean));
  const child = new Child(role, [...deployed, ...preload, script], { env, cwd: root, logPath: join(logDir, `${role}.log`), ipc });
  children.set(role, child);
  return child;
}

async function stopChild(role) {
  const child = children.get(role);
  if (!child) return;
  if (settings.cpuProfileDir && (role === 'web' || role === 'ingestor') && !child.exited) {
    child.process.kill('SIGUSR2');
    await child.waitForLine(/BENCH_CPU_PROFILE_WRITTEN/, 30_000).catch((error) => log(`profile of ${role}: ${error.message}`));
  }
  await child.stop();
  children.delete(role);
}

let webPort;
async function startWeb() {
  webPort = await freePort();
  const web = spawnChild('web', appMain('web'), appEnv('web', webPort));
  await waitUntil(async () => (await fetch(`http://127.0.0.1:${webPort}/health`).catch(() => null))?.ok, { timeoutMs: 90_000, intervalMs: 100, label: 'web /health' });
  return web;
}

async function startIngestor() {
  const ingestor = spawnChild('ingestor', appMain('ingestor'), appEnv('ingestor'));
  await ingestor.waitForLine(/ingestor .* running/, 90_000);
  return ingestor;
}

async function startServer(role, script, env, ipc = false) {
  const port = await freePort();
  const child = spawnChild(role, join(root, script), { ...process.env, ...env, PORT: String(port) }, ipc);
  await child.waitForLine(/listening on/, 30_000);
  return { child, port };
}

const sampler = setInterval(() => {
  for (const [role, child] of children) {
    const mb = rssMb(child.pid);
    if (mb === null) continue;
    rssPeak[role] = Math.max(rssPeak[role] ?? 0, mb);
    if (phasePeak) phasePeak[role] = Math.max(phasePeak[role] ?? 0, mb);
  }
}, 100);
sampler.unref();

// ---------------------------------------------------------------------------------------------
// Phases: CPU use of every party and memory peaks, per scenario
// ---------------------------------------------------------------------------------------------
const phases = {};

function cpuSnapshot() {
  const roles = {};
  for (const [role, child] of children) roles[role] = { pid: child.pid, ticks: cpuTicks(child.pid) };
  return { at: now(), roles, bench: cpuTicks(process.pid), postgres: cpuTicksByPid('postgres'), redis: cpuTicksByPid('redis-server'), machine: machineTicks() };
}

/** CPU between two snapshots, with the window's exact length (phases round theirs). */
const cpuWindow = (a, b) => ({ seconds: (b.at - a.at) / 1000, percentOfOneCore: cpuBetween(a, b) });

/** Percent of one core used by each party between two snapshots. */
function cpuBetween(a, b) {
  const seconds = (b.at - a.at) / 1000;
  const pct = (ticks) => round((ticks / (seconds * 100)) * 100);
  const out = {};
  for (const [role, end] of Object.entries(b.roles)) {
    const start = a.roles[role];
    out[role] = pct(start && start.pid === end.pid ? end.ticks - start.ticks : end.ticks);
  }
  out.loadgen = pct(b.bench - a.bench);
  // Per process, so that backends ending meanwhile do not subtract; shared servers (other users' load included).
  const delta = (before, after) => [...after].reduce((sum, [pid, ticks]) => sum + Math.max(0, ticks - (before.get(pid) ?? 0)), 0);
  out.postgres = pct(delta(a.postgres, b.postgres));
  out.redis = pct(delta(a.redis, b.redis));
  out.machineBusyOfAllCores = round(((b.machine.busy - a.machine.busy) / Math.max(1, b.machine.total - a.machine.total)) * 100);
  return out;
}

/** Dash's backlog counters (events acknowledged and not yet released by an ingestor). */
async function backlogState() {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const state = { total: 0, released: 0, jobs: 0 };
    const keys = redisKeys(name);
    for (let partition = 0; partition < keys.partitions; partition++) {
      const totals = await redis.hgetall(keys.backlog(partition).totals);
      state.total += Number(totals['*'] ?? 0);
      state.released += Number(totals['#'] ?? 0);
      state.jobs += await redis.hlen(keys.backlog(partition).jobs);
    }
    return state;
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

/**
 * After a scenario, every accepted event is stored; the backlog counter must then drain to zero
 * (a leftover would make later webhooks 429). Requests still in flight when the load generator
 * stopped were never counted as accepted but may still be queued and written, so the counter
 * gets a few seconds to drain before a remainder is reported as a leak. Then the counters are
 * reset so the next scenario measures its own load (BENCH_KEEP_BACKLOG=1 keeps them).
 */
async function settleBacklog(label) {
  let state = await backlogState();
  for (let waited = 0; state && state.total > 0 && waited < 10_000; waited += 250) {
    await sleep(250);
    state = await backlogState();
  }
  if (!state || state.total === 0) return;
  results.backlogLeaks.push({ after: label, events: state.total, jobs: state.jobs });
  if (process.env.BENCH_KEEP_BACKLOG === '1') return;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const keys = redisKeys(name);
    for (let partition = 0; partition < keys.partitions; partition++) await redis.del(keys.backlog(partition).totals, keys.backlog(partition).jobs);
  } finally {
    redis.disconnect();
  }
  await sleep(250); // web nodes re-read the counters every 100 ms
}

async function phase(key, fn) {
  log(`${key} ...`);
  // The bench's own garbage from earlier scenarios (request pools, COPY text) is collected now,
  // not during a measured phase, where it would take CPU from whichever side runs then.
  globalThis.gc?.();
  phasePeak = {};
  const start = cpuSnapshot();
  const result = await fn();
  const end = cpuSnapshot();
  phases[key] = {
    seconds: round((end.at - start.at) / 1000, 1),
    cpuPercentOfOneCore: cpuBetween(start, end),
    rssPeakMb: Object.fromEntries(Object.entries(phasePeak).map(([k, v]) => [k, round(v)])),
    backlogAfter: await backlogState(),
  };
  phasePeak = null;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Dash API
// ---------------------------------------------------------------------------------------------
async function api(method, path, body) {
  const response = await fetch(`http://127.0.0.1:${webPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const createPipeline = (label) => api('POST', '/api/pipelines', { name: `bench ${label}`, source: { type: 'webhook' } });
const storedCount = async (pipelineId) => (await api('GET', `/api/pipelines/${pipelineId}/stats`)).count;

/** Seconds from `since` until the pipeline holds at least `expected` events. */
async function catchUp(pipelineId, expected, since, timeoutMs = smoke ? 30_000 : 120_000) {
  let count = 0;
  try {
    await waitUntil(async () => (count = await storedCount(pipelineId)) >= expected, { timeoutMs, intervalMs: 20, label: `${expected} events stored` });
  } catch {
    return { seconds: null, stored: count };
  }
  return { seconds: (now() - since) / 1000, stored: count };
}

/** The web's ingest-job counters (`GET /metrics`); NaN from a build without them. */
async function jobCounters() {
  const text = await (await fetch(`http://127.0.0.1:${webPort}/metrics`)).text();
  // Labelled (`{role, node}`) since the prom-client registry, bare before: either form.
  const read = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(text)?.[1]);
  return { jobs: read('dash_ingest_jobs_total'), events: read('dash_ingest_queued_events_total') };
}

/**
 * How the events of `work` (which ends once they are stored) travelled: events per job queued by
 * the web, and per flush of the ingestor (each flush that stores events of a pipeline bumps its
 * stats' version once). Jobs and flushes carry fixed costs, so their sizes explain cost per event.
 */
async function batchingDuring(pipelineId, work) {
  const stats = () => api('GET', `/api/pipelines/${pipelineId}/stats`);
  const [jobsBefore, statsBefore] = await Promise.all([jobCounters(), stats()]);
  const value = await work();
  const [jobsAfter, statsAfter] = await Promise.all([jobCounters(), stats()]);
  const jobs = jobsAfter.jobs - jobsBefore.jobs;
  const flushes = statsAfter.version - statsBefore.version;
  const batching = { jobs, eventsPerJob: (jobsAfter.events - jobsBefore.events) / jobs, flushes, eventsPerFlush: (statsAfter.count - statsBefore.count) / flushes };
  return { value, batching };
}

/** Load against Dash's web until the accepted events are stored: the run, its catch-up, and how it was batched. */
async function dashLoad(pipelineId, load) {
  const { value: [run, caught], batching } = await batchingDuring(pipelineId, async () => {
    const run = await cannon({ port: webPort, ...load });
    return [run, await catchUp(pipelineId, run.eventsAccepted, now())];
  });
  return { ...run, catchUpSeconds: caught.seconds, stored: caught.stored, batching };
}

// ---------------------------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------------------------
async function cannon({ port, path, pool, seconds, connections = settings.connections }) {
  let next = 0;
  // Pool items answered 2xx: a wrapped pool repeats ids, which Dash stores once.
  const acceptedItems = new Set();
  const result = await new Promise((resolveRun, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections,
        duration: seconds,
        pipelining: 1,
        timeout: 30,
        requests: [
          {
            method: 'POST',
            path,
            setupRequest: (request, context) => {
              context.item = next++ % pool.length;
              const item = pool[context.item];
              request.headers = item.headers;
              request.body = item.body;
              return request;
            },
            // One request in flight per connection, so the context names the answered item.
            onResponse: (status, _body, context) => {
              if (status >= 200 && status < 300) acceptedItems.add(context.item);
            },
          },
        ],
      },
      (error, output) => (error ? reject(error) : resolveRun(output)),
    );
  });
  const accepted = result['2xx'];
  return {
    requestsPerSecond: accepted / result.duration,
    accepted,
    distinctAccepted: acceptedItems.size,
    eventsAccepted: [...acceptedItems].reduce((sum, index) => sum + pool[index].events, 0),
    sent: next,
    poolWrapped: next > pool.length,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    seconds: result.duration,
    // autocannon records latencies of 2xx answers only.
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    statusCodes: result.statusCodeStats,
  };
}

const pools = {};
/** Signed requests, re-signed when older than 200 s (Standard Webhooks tolerance is 300 s). */
function pool(kind, secret, count) {
  const cached = pools[kind];
  if (cached && cached.secret === secret && cached.items.length >= count && Date.now() - cached.at < 200_000) return cached.items;
  const prefix = `${kind}_${randomBytes(3).toString('hex')}`;
  const items = kind.startsWith('batch') ? batchPool(secret, count, prefix, settings.batchSize) : singlePool(secret, count, prefix);
  pools[kind] = { secret, at: Date.now(), items };
  return items;
}

// ---------------------------------------------------------------------------------------------
// Viewers (socket.io clients in worker threads)
// ---------------------------------------------------------------------------------------------
class Viewers {
  constructor(url, pipelineId, sockets, threads, recordUpdates = false, breakdown = undefined) {
    const perThread = Math.ceil(sockets / threads);
    this.threads = [];
    for (let i = 0; i < threads && i * perThread < sockets; i++) {
      const count = Math.min(perThread, sockets - i * perThread);
      const worker = new Worker(new URL('./lib/viewers-worker.mjs', import.meta.url), { workerData: { url, token: adminToken, pipelineId, sockets: count, recordUpdates, breakdown } });
      workers.add(worker);
      this.threads.push(worker);
    }
  }

  request(command, answer) {
    return Promise.all(
      this.threads.map(
        (worker) =>
          new Promise((resolveAnswer, reject) => {
            const onMessage = (message) => {
              if (message.type === 'error') reject(new Error(`viewer: ${message.message}`));
              else if (message.type === answer) {
                worker.off('message', onMessage);
                resolveAnswer(message);
              }
            };
            worker.on('message', onMessage);
            worker.once('error', reject);
            if (command) worker.postMessage(command);
          }),
      ),
    );
  }

  ready() {
    return this.request(null, 'ready');
  }
  start() {
    return this.request({ type: 'start' }, 'started');
  }
  async report() {
    const parts = await this.request({ type: 'report' }, 'report');
    return {
      deliveries: parts.reduce((sum, p) => sum + p.deliveries, 0),
      latencies: parts.flatMap((p) => p.latencies),
      updates: parts.flatMap((p) => p.updates),
      versions: Math.max(...parts.map((p) => p.versions)),
      connected: parts.reduce((sum, p) => sum + p.connected, 0),
    };
  }
  async close() {
    await this.request({ type: 'close' }, 'closed').catch(() => undefined);
    for (const worker of this.threads) {
      await worker.terminate();
      workers.delete(worker);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------
const results = { intake: {}, batched: {}, write: {}, freshness: {}, fanout: {}, memory: {}, naive: {}, backlogLeaks: [] };

async function intakeScenarios() {
  const pipeline = await createPipeline('intake');
  const warm = await createPipeline('warmup');
  const path = `/webhooks/${pipeline.id}`;
  const count = Math.ceil(settings.intakeSeconds * settings.poolRate);
  const warmPool = settings.warmupSeconds > 0 ? singlePool(warm.signingSecret, Math.ceil(settings.warmupSeconds * settings.poolRate), `warm_${randomBytes(3).toString('hex')}`) : null;

  // 1a. The limit: bare node:http reading the body and answering 202.
  // (BENCH_INTAKE_DASH_ONLY=1 skips the baselines: for A/B runs of two builds, compare CPU per webhook.)
  const dashOnly = process.env.BENCH_INTAKE_DASH_ONLY === '1';
  const bare = dashOnly ? null : await startServer('bare-http', 'bench/servers/bare-http.mjs', {});
  pool('single', pipeline.signingSecret, count); // signed before the phases (a cache hit inside them)
  // Warm-ups (JIT, pools) run outside the phases, so CPU per request counts measured load only.
  if (bare) {
    results.memory.bareHttpIdle = rssMb(bare.child.pid);
    if (warmPool) await cannon({ port: bare.port, path, pool: warmPool, seconds: settings.warmupSeconds });
    await phase('intake.bare', async () => {
      results.intake.bare = await cannon({ port: bare.port, path, pool: pool('single', pipeline.signingSecret, count), seconds: settings.intakeSeconds });
    });
    results.memory.bareHttpPeak = rssPeak['bare-http'];
    await stopChild('bare-http');
  }

  // 1b. Dash: verification, durable enqueue, the ingestor storing meanwhile.
  if (warmPool) {
    await cannon({ port: webPort, path: `/webhooks/${warm.id}`, pool: warmPool, seconds: settings.warmupSeconds });
    await catchUp(warm.id, 1, now(), 30_000);
    await sleep(1000);
  }
  await phase('intake.dash', async () => {
    results.intake.dash = await dashLoad(pipeline.id, { path, pool: pool('single', pipeline.signingSecret, count), seconds: settings.intakeSeconds });
    results.memory.webIntakePeak = phasePeak.web;
    results.memory.ingestorIntakePeak = phasePeak.ingestor;
  });

  if (dashOnly) return;
  // 7. Reference: one INSERT per request, same load, same events.
  const naivePipelineId = randomUUID();
  const naive = await startServer('naive-insert', 'bench/servers/naive-insert.mjs', { DATABASE_URL: databaseUrl, SIGNING_SECRET: pipeline.signingSecret });
  const naivePath = `/webhooks/${naivePipelineId}`;
  if (warmPool) await cannon({ port: naive.port, path: naivePath, pool: pool('single-naive-warm', pipeline.signingSecret, warmPool.length), seconds: settings.warmupSeconds });
  await phase('intake.naive', async () => {
    results.naive = await cannon({ port: naive.port, path: naivePath, pool: pool('single-naive', pipeline.signingSecret, count), seconds: settings.intakeSeconds });
  });
  results.memory.naivePeak = rssPeak['naive-insert'];
  await stopChild('naive-insert');
}

async function batchedScenarios() {
  const pipeline = await createPipeline('batched');
  const path = `/webhooks/${pipeline.id}`;
  const count = Math.ceil(settings.batchSeconds * Math.max(300, settings.poolRate / 10));
  const items = pool('batch', pipeline.signingSecret, count);
  const bare = await startServer('bare-http', 'bench/servers/bare-http.mjs', {});
  await phase('batched.bare', async () => {
    results.batched.bare = await cannon({ port: bare.port, path, pool: items, seconds: settings.batchSeconds });
  });
  await stopChild('bare-http');
  await phase('batched.dash', async () => {
    results.batched.dash = await dashLoad(pipeline.id, { path, pool: items, seconds: settings.batchSeconds });
  });
  for (const side of ['bare', 'dash']) results.batched[side].eventsPerSecond = results.batched[side].requestsPerSecond * settings.batchSize;
}

function ingestEvent(pipelineId, i, at) {
  // The shape of the web app's IngestEvent: the payload travels as the sender's JSON text.
  const payloadJson = eventBody(i, at);
  const payload = JSON.parse(payloadJson);
  return { pipelineId, id: `w_${i}`, type: payload.type, occurredAt: Date.parse(payload.timestamp), receivedAt: at.getTime(), payloadJson };
}

/**
 * The write path's second storage: a database of the same name on the TimescaleDB server, migrated
 * by an ingestor started on it with STORAGE_MODE=timescale (so a server that cannot do it stops the
 * run instead of measuring native partitions twice), with one pipeline created in it directly.
 */
async function prepareHypertable() {
  await stopChild('ingestor');
  hypertableCreated = true;
  const ingestor = spawnChild('ingestor', appMain('ingestor'), { ...appEnv('ingestor'), ...hypertableEnv });
  await ingestor.waitForLine(/ingestor .* running/, 90_000);
  await stopChild('ingestor');
  const client = new pg.Client({ connectionString: hypertableUrl });
  client.on('error', () => undefined);
  await client.connect();
  const mode = (await client.query(`SELECT value FROM dash_meta WHERE key = 'storage_mode'`)).rows[0]?.value;
  if (mode !== 'timescale') throw new Error(`the TimescaleDB database is in ${mode} mode`);
  results.write.hypertable.timescaledb = (await client.query(`SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'`)).rows[0]?.extversion;
  return client;
}

/** A pipeline made in the hypertable database directly (its web app is not running). */
async function hypertablePipeline(client) {
  const { rows } = await client.query(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('bench write', '{"type":"webhook"}', 'whsec_unused') RETURNING id`);
  await client.query('INSERT INTO pipeline_stats (pipeline_id) VALUES ($1)', [rows[0].id]);
  return rows[0];
}

async function writeScenarios() {
  const n = settings.writeEvents;
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => undefined); // the database is dropped under it on Ctrl-C
  await client.connect();
  let hyperClient = null;
  const copies = [];
  const drains = [];
  const hyperCopies = [];
  const hyperDrains = [];
  try {
    results.write.hypertable = {};
    hyperClient = await prepareHypertable();
    const hyperTarget = { key: 'write.dash.hypertable', env: hypertableEnv, pipeline: () => hypertablePipeline(hyperClient) };
    // Rounds alternate the limit and Dash, native and hypertable, so all meet the same host; each
    // side reports its median.
    for (let round = 1; round <= settings.writeRounds; round++) {
      copies.push(await writeCopyRound(client, n));
      drains.push(await writeDashRound(client, n));
      hyperCopies.push(await writeCopyRound(hyperClient, n, 'write.copy.hypertable'));
      hyperDrains.push(await writeDashRound(hyperClient, n, hyperTarget));
      log(
        `write round ${round}: raw COPY ${Math.round(copies.at(-1).eventsPerSecond)} events/s, Dash ${Math.round(drains.at(-1).eventsPerSecond)} events/s (native) | ` +
          `raw COPY ${Math.round(hyperCopies.at(-1).eventsPerSecond)} events/s, Dash ${Math.round(hyperDrains.at(-1).eventsPerSecond)} events/s (hypertable)`,
      );
    }
    results.write.copy = { ...medianRound(copies), rounds: copies };
    results.write.dash = { ...medianRound(drains), rounds: drains };
    results.write.hypertable.copy = { ...medianRound(hyperCopies), rounds: hyperCopies };
    results.write.hypertable.dash = { ...medianRound(hyperDrains), rounds: hyperDrains };
    results.memory.ingestorDrainPeak = Math.max(...drains.map((drain) => drain.rssPeakMb ?? 0));
  } finally {
    await client.end();
    await hyperClient?.end();
    // Later scenarios need the ingestor on the main database.
    await stopChild('ingestor');
    await startIngestor();
  }
}

/** The round with the median rate (of an even count, the lower middle one). */
function medianRound(rounds) {
  const sorted = [...rounds].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** 3a. The limit: one COPY of N rows straight into the events table. */
async function writeCopyRound(client, n, key = 'write.copy') {
  const at = new Date();
  const copyPipeline = randomUUID();
  const lines = [];
  for (let i = 0; i < n; i++) {
    const body = eventBody(i, at).replace(/[\\\t\n\r]/g, (ch) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[ch]);
    lines.push(`${copyPipeline}\tcopy_${i}\torder.created\t${at.toISOString()}\t${at.toISOString()}\t${body}\n`);
  }
  const chunks = [];
  for (let i = 0; i < lines.length; i += 5000) chunks.push(lines.slice(i, i + 5000).join(''));
  return phase(key, async () => {
    const started = now();
    const startCpu = cpuSnapshot();
    await new Promise((resolveCopy, reject) => {
      const stream = client.query(copyFrom('COPY events (pipeline_id, event_id, type, occurred_at, received_at, payload) FROM STDIN'));
      stream.on('finish', resolveCopy);
      stream.on('error', reject);
      (async () => {
        for (const chunk of chunks) if (!stream.write(chunk)) await new Promise((r) => stream.once('drain', r));
        stream.end();
      })().catch(reject);
    });
    const seconds = (now() - started) / 1000;
    return { events: n, seconds, eventsPerSecond: n / seconds, cpu: cpuWindow(startCpu, cpuSnapshot()) };
  });
}

/**
 * 3b. Dash: N events queued while the ingestor is stopped, then drained end to end (by default
 * into the main database; `target` points the ingestor at another one).
 */
async function writeDashRound(client, n, target = { key: 'write.dash', env: {}, pipeline: () => createPipeline('write') }) {
  const at = new Date();
  const pipeline = await target.pipeline();
  await stopChild('ingestor');
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  // The pipeline's partition of the ingest queue, as the web app would pick it.
  const keys = redisKeys(target.env.DASH_KEY_PREFIX ?? name);
  const queue = new Queue('pipelines', { connection, prefix: keys.ingestBull(keys.partitionOf(pipeline.id)) });
  const jobs = [];
  for (let i = 0; i < n; i += settings.writeJobEvents) {
    const events = [];
    for (let j = i; j < Math.min(n, i + settings.writeJobEvents); j++) events.push(ingestEvent(pipeline.id, j, at));
    // Same job shape and options as the web app's IngestQueue.
    jobs.push({ name: 'ingest', data: { events }, opts: { attempts: 15, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: true, removeOnFail: false, jobId: randomUUID() } });
  }
  for (let i = 0; i < jobs.length; i += 200) await queue.addBulk(jobs.slice(i, i + 200));
  await queue.close();
  connection.disconnect();
  const countOf = async () => Number((await client.query('SELECT count FROM pipeline_stats WHERE pipeline_id = $1', [pipeline.id])).rows[0]?.count ?? 0);
  const drain = await phase(target.key, async () => {
    const spawnedAt = now();
    const child = spawnChild('ingestor', appMain('ingestor'), { ...appEnv('ingestor'), ...target.env });
    let readyAt = null;
    // CPU from the moment the drain starts (ready, or the first events stored) to its end: the
    // ingestor's boot (loading modules, connecting) is not part of the cost per event.
    let startCpu = null;
    void child.waitForLine(/ingestor .* running/, 120_000).then(
      () => {
        readyAt = now();
        startCpu ??= cpuSnapshot();
      },
      () => undefined,
    );
    let firstAt = null;
    await waitUntil(
      async () => {
        const count = await countOf();
        if (count > 0 && firstAt === null) {
          firstAt = now();
          startCpu ??= cpuSnapshot();
        }
        return count >= n;
      },
      { timeoutMs: 300_000, intervalMs: 10, label: `${n} queued events stored` },
    );
    const doneAt = now();
    const cpu = cpuWindow(startCpu, cpuSnapshot());
    await waitUntil(() => readyAt !== null, { timeoutMs: 60_000, label: 'ingestor ready' });
    const startedAt = Math.min(readyAt, firstAt ?? readyAt);
    return {
      events: n,
      jobEvents: settings.writeJobEvents,
      seconds: (doneAt - startedAt) / 1000,
      eventsPerSecond: n / ((doneAt - startedAt) / 1000),
      secondsFromSpawn: (doneAt - spawnedAt) / 1000,
      bootSeconds: (readyAt - spawnedAt) / 1000,
      cpu,
    };
  });
  // Each flush that stored events of the pipeline bumped its stats' version once (it started at 0).
  const { version } = (await client.query('SELECT version FROM pipeline_stats WHERE pipeline_id = $1', [pipeline.id])).rows[0];
  return { ...drain, flushes: Number(version), eventsPerFlush: n / Number(version), rssPeakMb: phases[target.key].rssPeakMb.ingestor };
}

/** Freshness of each accepted event: from its 202 to the first update whose count includes it. */
function freshnessOf(acceptedAt, updates) {
  const sortedUpdates = [...updates].sort((a, b) => a[0] - b[0]);
  const accepted = [...acceptedAt].sort((a, b) => a - b);
  const latencies = [];
  let j = 0;
  let seen = 0;
  let early = 0;
  let missing = 0;
  for (let k = 0; k < accepted.length; k++) {
    while (j < sortedUpdates.length && seen < k + 1) {
      seen = Math.max(seen, sortedUpdates[j][1]);
      if (seen < k + 1) j++;
    }
    if (j >= sortedUpdates.length) {
      missing += 1;
      continue;
    }
    const latency = sortedUpdates[j][0] - accepted[k];
    if (latency < 0) early += 1;
    latencies.push(Math.max(0, latency));
  }
  return { ...summarize(latencies), updates: sortedUpdates.length, missing, updateBefore202: early };
}

async function freshnessAt(label, rate) {
  const pipeline = await createPipeline(`freshness ${label}`);
  const viewers = new Viewers(`http://127.0.0.1:${webPort}`, pipeline.id, 1, 1, true);
  try {
    await viewers.ready();
    await viewers.start();
    const items = singlePool(pipeline.signingSecret, Math.ceil(rate * settings.freshnessSeconds) + 10, `fresh_${label}_${randomBytes(3).toString('hex')}`);
    const run = await pacedSend({ port: webPort, path: `/webhooks/${pipeline.id}`, pool: items, rate, durationMs: settings.freshnessSeconds * 1000 });
    const caught = await catchUp(pipeline.id, run.acceptedAt.length, now(), 60_000);
    await sleep(300); // the last coalesced update
    const report = await viewers.report();
    return { rate, achievedRate: run.acceptedAt.length / run.seconds, accepted: run.acceptedAt.length, statusCodes: run.statusCodes, non2xx: run.non2xx, errors: run.errors, catchUpSeconds: caught.seconds, ...freshnessOf(run.acceptedAt, report.updates) };
  } finally {
    await viewers.close();
  }
}

async function freshnessScenarios() {
  await phase('freshness.light', async () => {
    results.freshness.light = await freshnessAt('light', settings.lightRate);
  });
  const maxRate = results.intake.dash?.requestsPerSecond ?? num('BENCH_HALF_RATE', 2000) * 2;
  await phase('freshness.half', async () => {
    results.freshness.half = await freshnessAt('half', Math.max(settings.lightRate, Math.round(maxRate / 2)));
  });
}

/**
 * Live breakdown freshness (issue 24): one socket follows a breakdown by currency with a measure
 * of a pipeline with 4 dimensions and 2 measures; from the k-th event's 202 to the first
 * breakdown_updated whose total reaches k. At the light rate, and idle (an event every 2 s).
 */
async function breakdownFreshnessAt(label, rate) {
  const pipeline = await createPipeline(`breakdown ${label}`);
  await api('PATCH', `/api/pipelines/${pipeline.id}`, {
    dimensions: ['data.object.currency', 'data.object.customer.country', 'data.object.items.0.sku', 'data.object.items.0.quantity'],
    measures: ['data.object.amount', 'data.object.items.0.price'],
  });
  const viewers = new Viewers(`http://127.0.0.1:${webPort}`, pipeline.id, 1, 1, true, { by: 'data.object.currency', measure: 'data.object.amount' });
  try {
    await viewers.ready();
    await viewers.start();
    const seconds = settings.freshnessSeconds * (rate < 1 ? 2 : 1);
    const items = singlePool(pipeline.signingSecret, Math.ceil(rate * seconds) + 10, `bd_${label}_${randomBytes(3).toString('hex')}`);
    const run = await pacedSend({ port: webPort, path: `/webhooks/${pipeline.id}`, pool: items, rate, durationMs: seconds * 1000 });
    const caught = await catchUp(pipeline.id, run.acceptedAt.length, now(), 60_000);
    await sleep(1500); // the last coalesced recompute
    const report = await viewers.report();
    return { rate, accepted: run.acceptedAt.length, non2xx: run.non2xx, catchUpSeconds: caught.seconds, ...freshnessOf(run.acceptedAt, report.updates) };
  } finally {
    await viewers.close();
  }
}

async function breakdownScenarios() {
  results.breakdown = {};
  await phase('breakdown.light', async () => {
    results.breakdown.light = await breakdownFreshnessAt('light', settings.lightRate);
  });
  await phase('breakdown.idle', async () => {
    results.breakdown.idle = await breakdownFreshnessAt('idle', 0.5);
  });
  log(`breakdown freshness: ${JSON.stringify(results.breakdown)}`);
}

/**
 * Write cost of dimensions (issue 24): PostgreSQL CPU per event, 0 against 4 dimensions + 2
 * measures, through the writer's repository, on the bench database and the TimescaleDB one
 * (bench/write-dimension-cpu.mjs; its JSON per mode). Runs only when named in BENCH_ONLY.
 */
async function writeCostScenario() {
  results.writeCost = {};
  results.write.hypertable ??= {};
  const hyperClient = await prepareHypertable(); // migrates it (and stops the ingestor)
  await hyperClient.end();
  try {
    for (const [mode, url] of [['native', databaseUrl], ['timescale', hypertableUrl]]) {
      const run = spawnSync(process.execPath, [join(root, 'bench/write-dimension-cpu.mjs'), distCopy, url, '1000', String(smoke ? 3 : 100)], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`write-dimension-cpu.mjs (${mode}): ${run.stderr}`);
      results.writeCost[mode] = JSON.parse(run.stdout.trim().split('\n').at(-1));
      log(`write cost ${mode}: ${results.writeCost[mode].cpuRatio}× PostgreSQL CPU per event (4 dimensions + 2 measures against 0)`);
    }
  } finally {
    await startIngestor();
  }
}

/**
 * Intake while a backfill runs (issue 24: "intake stays within noise while it runs"). One pipeline
 * takes saturating intake (as `intake.dash`); another holds BENCH_BACKFILL_EVENTS stored events
 * (seeded in SQL, order payloads) and gets 4 dimensions (4, 1, 97 and 3 values) and 2 measures
 * declared at the start of each backfill phase, so the ingestors walk those events in bounded
 * steps meanwhile; the declaration is removed after it (its job ends). Phases without and with a
 * backfill alternate, BENCH_BACKFILL_ROUNDS each. Runs only when named in BENCH_ONLY.
 */
async function backfillScenario() {
  const seeded = num('BENCH_BACKFILL_EVENTS', smoke ? 5_000 : 300_000);
  const rounds = num('BENCH_BACKFILL_ROUNDS', smoke ? 1 : 3);
  const seconds = num('BENCH_BACKFILL_DURATION', smoke ? 1 : 10);
  const pipeline = await createPipeline('intake-during-backfill');
  const stored = await createPipeline('backfilled');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // Within the last hour (a partition that exists in either storage mode).
    await client.query(
      `INSERT INTO events (pipeline_id, event_id, type, occurred_at, received_at, payload)
       SELECT $1, 'bf_' || i, 'order.created', now() - (i % 3600) * interval '1 second', now(),
         jsonb_build_object('data', jsonb_build_object('object', jsonb_build_object(
           'amount', 100 + i % 9000, 'currency', (ARRAY['usd', 'eur', 'gbp', 'jpy'])[1 + i % 4], 'customer', jsonb_build_object('id', 'cus_' || i % 5000, 'country', 'DE'),
           'items', jsonb_build_array(jsonb_build_object('sku', 'sku_' || i % 97, 'quantity', 1 + i % 3, 'price', 100 + i % 50)))))
       FROM generate_series(1, $2::int) i`,
      [stored.id, seeded],
    );
    await client.query('ANALYZE events');
  } finally {
    await client.end();
  }
  const declaration = {
    dimensions: ['data.object.currency', 'data.object.customer.country', 'data.object.items.0.sku', 'data.object.items.0.quantity'],
    measures: ['data.object.amount', 'data.object.items.0.price'],
  };
  const progress = async () => (await api('GET', `/api/pipelines/${stored.id}`)).backfill;
  const path = `/webhooks/${pipeline.id}`;
  const count = Math.ceil(seconds * settings.poolRate);
  results.backfill = { seededEvents: seeded, phases: [] };
  for (let pass = 0; pass < rounds; pass++) {
    for (const side of pass % 2 === 0 ? ['none', 'backfill'] : ['backfill', 'none']) {
      const key = `backfill.${side}.${pass}`;
      const items = pool(key, pipeline.signingSecret, count);
      if (side === 'backfill') await api('PATCH', `/api/pipelines/${stored.id}`, declaration);
      const before = side === 'backfill' ? await progress() : null;
      const run = await phase(key, () => dashLoad(pipeline.id, { path, pool: items, seconds }));
      const after = side === 'backfill' ? await progress() : null;
      if (side === 'backfill') await api('PATCH', `/api/pipelines/${stored.id}`, { dimensions: [], measures: [] });
      const cpu = phases[key].cpuPercentOfOneCore;
      results.backfill.phases.push({
        side,
        pass,
        requestsPerSecond: round(run.requestsPerSecond),
        latencyMs: run.latencyMs,
        non2xx: run.non2xx,
        webCpuPer2xx: round(cpuPerUnit(cpu, phases[key].seconds, run.accepted, ['web']), 1),
        stackCpuPer2xx: round(cpuPerUnit(cpu, phases[key].seconds, run.accepted, ['web', 'ingestor', 'postgres', 'redis']), 1),
        ...(side === 'backfill' ? { backfilledEvents: (after?.done ?? 0) - (before?.done ?? 0), backfillStillRunning: after?.state === 'running' } : {}),
      });
      log(`${key}: ${JSON.stringify(results.backfill.phases.at(-1))}`);
    }
  }
}

async function fanoutScenarios() {
  const sockets = settings.fanoutSockets;
  // 5a. Dash: webhooks flow in, the ingestor's coalesced updates reach every viewer via Redis.
  const pipeline = await createPipeline('fanout');
  const viewers = new Viewers(`http://127.0.0.1:${webPort}`, pipeline.id, sockets, settings.fanoutWorkers);
  let sample = null;
  try {
    const connectStarted = now();
    await viewers.ready();
    results.fanout.connectSeconds = (now() - connectStarted) / 1000;
    await sleep(smoke ? 200 : 2000);
    results.memory.webSocketsIdle = rssMb(children.get('web').pid);
    await phase('fanout.dash', async () => {
      await viewers.start();
      const items = singlePool(pipeline.signingSecret, Math.ceil(settings.fanoutEventRate * settings.fanoutSeconds) + 10, `fan_${randomBytes(3).toString('hex')}`);
      const run = await pacedSend({ port: webPort, path: `/webhooks/${pipeline.id}`, pool: items, rate: settings.fanoutEventRate, durationMs: settings.fanoutSeconds * 1000 });
      await catchUp(pipeline.id, run.acceptedAt.length, now(), 60_000);
      await sleep(500);
      const report = await viewers.report();
      sample = (await api('GET', `/api/pipelines/${pipeline.id}/stats`)) ?? null;
      results.fanout.dash = {
        sockets,
        connected: report.connected,
        webhookStatusCodes: run.statusCodes,
        updates: report.versions,
        deliveries: report.deliveries,
        expectedDeliveries: report.versions * sockets,
        deliveriesPerSecond: report.deliveries / settings.fanoutSeconds,
        latencyMs: summarize(report.latencies),
      };
    });
    results.memory.webSocketsPeak = phases['fanout.dash'].rssPeakMb.web;
  } finally {
    await viewers.close();
  }

  // 5b. The limit: a bare socket.io server broadcasting the same messages at the same rate.
  const bare = await startServer('bare-socketio', 'bench/servers/bare-socketio.mjs', {}, true);
  const bareViewers = new Viewers(`http://127.0.0.1:${bare.port}`, pipeline.id, sockets, settings.fanoutWorkers);
  try {
    await bareViewers.ready();
    await sleep(smoke ? 200 : 2000);
    results.memory.bareSocketsIdle = rssMb(bare.child.pid);
    await phase('fanout.bare', async () => {
      await bareViewers.start();
      const messages = Math.max(1, results.fanout.dash.updates);
      const template = { ...sample, count: sample?.count ?? 0, version: sample?.version ?? 0 };
      const done = new Promise((resolveDone) => bare.child.process.once('message', resolveDone));
      bare.child.process.send({ type: 'broadcast', template, rate: messages / settings.fanoutSeconds, count: messages });
      await done;
      await sleep(500);
      const report = await bareViewers.report();
      results.fanout.bare = {
        sockets,
        connected: report.connected,
        updates: report.versions,
        deliveries: report.deliveries,
        expectedDeliveries: messages * sockets,
        deliveriesPerSecond: report.deliveries / settings.fanoutSeconds,
        latencyMs: summarize(report.latencies),
      };
    });
    results.memory.bareSocketsPeak = phases['fanout.bare'].rssPeakMb['bare-socketio'];
  } finally {
    await bareViewers.close();
    await stopChild('bare-socketio');
  }
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------
function figure(id, label, unit, value, baseline, baselineLabel, target, check) {
  const ratio = value !== null && value !== undefined && baseline ? value / baseline : null;
  const pass = check ? check(value, ratio) : null;
  return { id, label, unit, value: round(value, 2), baseline: round(baseline, 2), baselineLabel, ratio: round(ratio, 3), target, pass: pass === null ? null : Boolean(pass) };
}

/** CPU microseconds per unit of work (request, event), summed over the given parties. */
function cpuPerUnit(cpuPercentOfOneCore, seconds, units, parties) {
  if (!cpuPercentOfOneCore || !seconds || !units) return null;
  const percent = parties.reduce((sum, party) => sum + (cpuPercentOfOneCore[party] ?? 0), 0);
  return ((percent / 100) * seconds * 1e6) / units;
}

/** CPU microseconds per accepted request in an intake phase, summed over the given parties. */
function cpuPerRequest(key, parties) {
  const p = phases[key];
  const side = key.endsWith('.dash') ? results.intake.dash : results.intake.bare;
  return cpuPerUnit(p?.cpuPercentOfOneCore, p?.seconds, side?.accepted, parties);
}

/**
 * The rate this machine would reach if every core were busy at the CPU per unit measured (µs):
 * what a figure could become through scheduling and latency alone, without doing less work.
 * A target ratio above ceiling ÷ baseline needs less CPU per unit, not a better pipeline.
 */
const allCoresRate = (microsPerUnit) => (microsPerUnit ? (cpus().length * 1e6) / microsPerUnit : null);

/** Who works for Dash while it drains (not the bench, which only polls the count). */
const DRAINERS = ['ingestor', 'postgres', 'redis'];
/** CPU microseconds per event of a write round, over its own CPU window. */
const writeCpuPerEvent = (round, parties) => cpuPerUnit(round.cpu?.percentOfOneCore, round.cpu?.seconds, round.events, parties);

function figures() {
  const list = [];
  const { intake, batched, write, freshness, fanout, memory, naive } = results;
  if (intake.dash) {
    const catchUpOk = intake.dash.catchUpSeconds !== null && intake.dash.catchUpSeconds < 2;
    list.push(
      figure('intake.requestsPerSecond', 'Intake, 1 event/request', 'req/s', intake.dash.requestsPerSecond, intake.bare?.requestsPerSecond, 'bare node:http', '≥ 0.5 and catch-up < 2 s', (_, r) => r >= 0.5 && catchUpOk),
      figure('intake.p50', 'Intake latency p50 (2xx)', 'ms', intake.dash.latencyMs.p50, intake.bare?.latencyMs.p50, 'bare node:http', null),
      figure('intake.p99', 'Intake latency p99 (2xx)', 'ms', intake.dash.latencyMs.p99, intake.bare?.latencyMs.p99, 'bare node:http', null),
      figure('intake.non2xx', 'Intake non-2xx answers', 'count', intake.dash.non2xx, intake.bare?.non2xx, 'bare node:http', null),
      // CPU per request holds up better than req/s on a shared machine: it does not depend on what else runs.
      figure('intake.cpuPerRequest.http', 'CPU per 2xx, HTTP process', 'µs', cpuPerRequest('intake.dash', ['web']), cpuPerRequest('intake.bare', ['bare-http']), 'bare node:http', null),
      figure('intake.cpuPerRequest.all', 'CPU per 2xx, web+ingestor+PG+Redis', 'µs', cpuPerRequest('intake.dash', ['web', 'ingestor', 'postgres', 'redis']), cpuPerRequest('intake.bare', ['bare-http']), 'bare node:http', null),
      // With the load generator: it needs the same cores for every request it sends to either side.
      figure('intake.ceiling', 'Intake ceiling: all cores busy at this CPU per 2xx (+ load generator)', 'req/s', allCoresRate(cpuPerRequest('intake.dash', ['web', 'ingestor', 'postgres', 'redis', 'loadgen'])), intake.bare?.requestsPerSecond, 'bare node:http', null),
      figure('intake.catchUp', 'DB catch-up after load stops', 's', intake.dash.catchUpSeconds, null, null, '< 2 s', (v) => v !== null && v < 2),
      figure('intake.eventsPerJob', 'Intake: events per queued job', 'events', intake.dash.batching?.eventsPerJob, null, null, null),
      figure('intake.eventsPerFlush', 'Intake: events per flush', 'events', intake.dash.batching?.eventsPerFlush, null, null, null),
      figure('naive.requestsPerSecond', 'Naive INSERT per request (ref.)', 'req/s', naive.requestsPerSecond, intake.bare?.requestsPerSecond, 'bare node:http', null),
      figure('naive.vsDash', 'Dash intake ÷ naive INSERT', 'req/s', intake.dash.requestsPerSecond, naive.requestsPerSecond, 'naive INSERT', null),
      figure('naive.p99', 'Naive latency p99 (2xx)', 'ms', naive.latencyMs?.p99, intake.bare?.latencyMs.p99, 'bare node:http', null),
    );
  }
  if (batched.dash) {
    list.push(
      figure('batched.eventsPerSecond', 'Batched intake, 100 events/request', 'events/s', batched.dash.eventsPerSecond, batched.bare.eventsPerSecond, 'bare node:http', null),
      figure('batched.non2xx', 'Batched: non-2xx answers (429 = shed)', 'count', batched.dash.non2xx, batched.bare.non2xx, 'bare node:http', null),
      figure('batched.catchUp', 'Batched: DB catch-up after load', 's', batched.dash.catchUpSeconds, null, null, null),
      figure('batched.eventsPerJob', 'Batched: events per queued job', 'events', batched.dash.batching?.eventsPerJob, null, null, null),
      figure('batched.eventsPerFlush', 'Batched: events per flush', 'events', batched.dash.batching?.eventsPerFlush, null, null, null),
    );
  }
  if (write.dash) {
    list.push(
      figure('write.eventsPerSecond', `Write path, ${write.dash.events} queued events${write.dash.rounds?.length > 1 ? `, median of ${write.dash.rounds.length}` : ''}`, 'events/s', write.dash.eventsPerSecond, write.copy.eventsPerSecond, 'raw COPY', '≥ 0.5', (_, r) => r >= 0.5),
      figure('write.eventsPerFlush', `Write path: events per flush (jobs of ${write.dash.jobEvents})`, 'events', write.dash.eventsPerFlush, null, null, null),
      figure('write.cpuPerEvent.postgres', 'Write path: PostgreSQL CPU per event', 'µs', writeCpuPerEvent(write.dash, ['postgres']), writeCpuPerEvent(write.copy, ['postgres']), 'raw COPY', null),
      figure('write.cpuPerEvent.all', 'Write path: CPU per event, ingestor+PG+Redis', 'µs', writeCpuPerEvent(write.dash, DRAINERS), writeCpuPerEvent(write.copy, ['postgres', 'loadgen']), 'raw COPY (PG + sender)', null),
      figure('write.ceiling', 'Write path ceiling: all cores busy at this CPU per event', 'events/s', allCoresRate(writeCpuPerEvent(write.dash, DRAINERS)), write.copy.eventsPerSecond, 'raw COPY', null),
    );
  }
  const hyper = write.hypertable;
  if (hyper?.dash && write.dash) {
    // The same drain and COPY into a TimescaleDB hypertable, beside native partitions, same run.
    list.push(
      figure('write.hypertable.eventsPerSecond', `Write path on a hypertable (TimescaleDB ${hyper.timescaledb})`, 'events/s', hyper.dash.eventsPerSecond, hyper.copy.eventsPerSecond, 'raw COPY into it', null),
      figure('write.hypertable.vsNative', 'Write path: hypertable vs native partitions', 'events/s', hyper.dash.eventsPerSecond, write.dash.eventsPerSecond, 'native', null),
      figure('write.hypertable.copyVsNative', 'Raw COPY: hypertable vs native partitions', 'events/s', hyper.copy.eventsPerSecond, write.copy.eventsPerSecond, 'native', null),
      figure('write.hypertable.cpuPerEvent.postgres', 'Write path on a hypertable: PostgreSQL CPU per event', 'µs', writeCpuPerEvent(hyper.dash, ['postgres']), writeCpuPerEvent(write.dash, ['postgres']), 'native', null),
    );
  }
  if (freshness.light) {
    list.push(
      figure('freshness.light.p50', `Freshness p50 @ ${freshness.light.rate}/s`, 'ms', freshness.light.p50, null, null, '≤ 50 ms', (v) => v !== null && v <= 50),
      figure('freshness.light.p99', `Freshness p99 @ ${freshness.light.rate}/s`, 'ms', freshness.light.p99, null, null, '≤ 250 ms', (v) => v !== null && v <= 250),
      figure('freshness.half.p50', `Freshness p50 @ ${freshness.half.rate}/s (½ max)`, 'ms', freshness.half.p50, null, null, null),
      figure('freshness.half.p99', `Freshness p99 @ ${freshness.half.rate}/s (½ max)`, 'ms', freshness.half.p99, null, null, '≤ 1200 ms', (v) => v !== null && v <= 1200),
    );
  }
  if (fanout.dash && fanout.bare) {
    list.push(
      figure('fanout.deliveriesPerSecond', `Fan-out to ${fanout.dash.sockets} viewers`, 'msg/s', fanout.dash.deliveriesPerSecond, fanout.bare.deliveriesPerSecond, 'bare socket.io', '≥ 0.8', (_, r) => r >= 0.8),
      figure('fanout.p50', 'Fan-out latency p50 (emit→viewer)', 'ms', fanout.dash.latencyMs.p50, fanout.bare.latencyMs.p50, 'bare socket.io', null),
      figure('fanout.p99', 'Fan-out latency p99 (emit→viewer)', 'ms', fanout.dash.latencyMs.p99, fanout.bare.latencyMs.p99, 'bare socket.io', null),
    );
  }
  if (results.alerts) list.push(...alertsFigures(results.alerts, figure));
  const leaked = results.backlogLeaks.reduce((sum, leak) => sum + leak.events, 0);
  list.push(figure('backlog.leaked', 'Backlog left after all events stored', 'events', leaked, null, null, '0 (else 429s later)', (v) => v === 0));
  list.push(figure('rss.web.idle', 'RSS web, idle', 'MB', memory.webIdle, memory.bareHttpIdle, 'bare node:http', '≤ 150 MB', (v) => v <= 150));
  if (memory.webIntakePeak !== undefined) list.push(figure('rss.web.intakePeak', 'RSS web, peak intake', 'MB', memory.webIntakePeak, memory.bareHttpPeak, 'bare node:http', null));
  if (memory.webSocketsPeak !== undefined) list.push(figure('rss.web.sockets', `RSS web, ${settings.fanoutSockets} sockets`, 'MB', Math.max(memory.webSocketsPeak ?? 0, memory.webSocketsIdle ?? 0), Math.max(memory.bareSocketsPeak ?? 0, memory.bareSocketsIdle ?? 0), 'bare socket.io', '≤ 300 MB', (v) => v <= 300));
  list.push(figure('rss.ingestor.idle', 'RSS ingestor, idle', 'MB', memory.ingestorIdle, null, null, null));
  if (memory.ingestorIntakePeak !== undefined) list.push(figure('rss.ingestor.intakePeak', 'RSS ingestor, peak intake', 'MB', memory.ingestorIntakePeak, null, null, '≤ 250 MB', (v) => v <= 250));
  list.push(figure('rss.ingestor.peak', 'RSS ingestor, peak (whole run)', 'MB', rssPeak.ingestor, null, null, '≤ 250 MB', (v) => v <= 250));
  return list;
}

function table(list) {
  const fmt = (v) => (v === null || v === undefined ? '–' : Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(round(v, 2)));
  const rows = [['figure', 'Dash', 'baseline', 'ratio', 'target', 'pass']];
  for (const f of list) {
    rows.push([
      `${f.label} (${f.unit})`,
      fmt(f.value),
      f.baseline === null ? '–' : `${fmt(f.baseline)} ${f.baselineLabel}`,
      f.ratio === null ? '–' : f.ratio.toFixed(2),
      f.target ?? '–',
      f.pass === null ? '–' : f.pass ? 'PASS' : 'FAIL',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((cell, i) => (i === 0 || i === 4 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w, i) => (i === 0 || i === 4 ? ':' : '-') + '-'.repeat(w) + (i === 0 || i === 4 ? '-' : ':')).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function cpuTable() {
  const roles = ['web', 'ingestor', 'bare-http', 'naive-insert', 'bare-socketio', 'loadgen', 'postgres', 'redis'];
  const rows = [['phase (% of one core)', ...roles, 'machine busy %']];
  for (const [key, p] of Object.entries(phases)) rows.push([key, ...roles.map((r) => (p.cpuPercentOfOneCore[r] === undefined ? '' : String(p.cpuPercentOfOneCore[r]))), String(p.cpuPercentOfOneCore.machineBusyOfAllCores)]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w, i) => (i === 0 ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: cpus().length,
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    cpuModel: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? 'unknown',
    node: process.version,
  };
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
let cleaning = null;
async function cleanup() {
  cleaning ??= (async () => {
    clearInterval(sampler);
    for (const worker of workers) await worker.terminate().catch(() => undefined);
    for (const role of [...children.keys()]) await stopChild(role).catch(() => children.get(role)?.kill());
    rmSync(join(root, 'tmp', name), { recursive: true, force: true });
    for (const adminUrl of hypertableCreated ? [PG_ADMIN_URL, TIMESCALE_ADMIN_URL] : [PG_ADMIN_URL]) {
      const admin = new pg.Client({ connectionString: adminUrl });
      admin.on('error', () => undefined);
      try {
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } catch (error) {
        log(`could not drop database ${name}: ${error.message}`);
      } finally {
        await admin.end().catch(() => undefined);
      }
    }
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${name}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    } catch (error) {
      log(`could not delete Redis keys ${name}:*: ${error.message}`);
    } finally {
      redis.disconnect();
    }
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
// Whatever the scenario in flight does while its servers go away, cleanup finishes first.
process.on('uncaughtException', (error) => {
  log(`uncaught: ${error.message}`);
  void cleanup().finally(() => process.exit(1));
});

async function main() {
  const started = new Date();
  if (!args.includes('--no-build')) {
    log('building web and ingestor ...');
    const build = spawnSync(process.execPath, [join(root, 'node_modules/nx/dist/bin/nx.js'), 'run-many', '-t', 'build', '--projects=web,ingestor', '--outputStyle=static'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (build.status !== 0) throw new Error('build failed');
  }
  for (const part of ['apps/web', 'apps/ingestor', 'libs']) cpSync(join(distSource, part), join(distCopy, part), { recursive: true });
  log(`database ${name}, logs in ${logDir}`);
  await startWeb();
  await startIngestor();
  const git = (...gitArgs) => spawnSync('git', gitArgs, { cwd: root, encoding: 'utf8' }).stdout?.trim();
  const meta = { ...machine(), startedAt: started.toISOString(), commit: git('rev-parse', '--short', 'HEAD'), appsDirty: Boolean(git('status', '--porcelain', '--', 'apps', 'libs')), database: name, logs: logDir };
  {
    const client = new pg.Client({ connectionString: databaseUrl });
    client.on('error', () => undefined);
    await client.connect();
    meta.postgres = (await client.query('SHOW server_version')).rows[0].server_version;
    meta.storageMode = (await client.query(`SELECT value FROM dash_meta WHERE key = 'storage_mode'`)).rows[0]?.value;
    await client.end();
    const redis = new Redis(REDIS_URL);
    meta.redis = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1];
    redis.disconnect();
  }

  await sleep(smoke ? 500 : 3000);
  results.memory.webIdle = rssMb(children.get('web').pid);
  results.memory.ingestorIdle = rssMb(children.get('ingestor').pid);

  // Alerts: bench/alerts.mjs, in a database of its own (the running ingestor must not evaluate its rules).
  const alertsScenario = async () => void (results.alerts = await alertsBench({ pgAdminUrl: PG_ADMIN_URL, dist: distCopy, rounds: smoke ? 3 : 20, log }));
  const scenarios = { intake: intakeScenarios, batched: batchedScenarios, write: writeScenarios, freshness: freshnessScenarios, fanout: fanoutScenarios, alerts: alertsScenario, breakdown: breakdownScenarios, writecost: writeCostScenario, backfill: backfillScenario };
  for (const [key, run] of Object.entries(scenarios)) {
    if (!settings.only.includes(key)) continue;
    await run();
    await settleBacklog(key);
  }
  results.memory.peaks = Object.fromEntries(Object.entries(rssPeak).map(([k, v]) => [k, round(v)]));

  await cleanup();
  const list = figures();
  const output = { meta: { ...meta, finishedAt: new Date().toISOString() }, settings, figures: list, phases, results };
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, JSON.stringify(output, null, 2));
  process.stdout.write(`\nDash bench (${settings.mode}) — ${meta.nproc} cores, ${meta.cpuModel}, node ${meta.node}, PostgreSQL ${meta.postgres} (${meta.storageMode}), Redis ${meta.redis}\n\n`);
  process.stdout.write(`${table(list)}\n\nCPU by phase:\n${cpuTable()}\n\nwritten to ${outPath}\n`);
  if (settings.cpuProfileDir) process.stdout.write(`cpu profiles in ${settings.cpuProfileDir} (summarize: node bench/profile-summary.mjs ${settings.cpuProfileDir}/*.cpuprofile)\n`);
}

// `node bench/run.mjs --print results.json`: the tables of an earlier run, as markdown.
if (argValue('--print')) {
  const saved = JSON.parse(readFileSync(resolve(argValue('--print')), 'utf8'));
  Object.assign(phases, saved.phases);
  process.stdout.write(`${table(saved.figures)}\n\nCPU by phase (% of one core; PostgreSQL and Redis are shared servers):\n\n${cpuTable()}\n`);
  process.exit(0);
}

main().then(
  () => process.exit(0),
  async (error) => {
    log(`failed: ${error.stack ?? error.message}`);
    await cleanup();
    process.exit(1);
  },
);
