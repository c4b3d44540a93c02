#!/usr/bin/env node
// Redis topologies under intake (issue 23): web + ingestor at a fixed request rate against one Redis,
// the local Redis Cluster and the local Sentinel set (scripts/redis-topologies.sh must be running),
// reading every redis-server's CPU by pid (INFO server's process_id) over the measured window.
//   node bench/topologies.mjs [cluster|sentinel|all]   (default all)
// RATE (req/s, default 2000), SECONDS (measured, default 8), PIPELINES (default 64), ROUNDS
// (cluster/single pairs, default 2; Sentinel ack pairs, default 3), CONNECTIONS (default 50).
// Cases alternate within a round so that machine noise spreads over both. Loopback only; the
// script's database and every key under its prefix (on each node it used) are deleted at the end.
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { nodeFlags } from '../scripts/launch.js';
import { singlePool } from './lib/payload.mjs';
import { Child, cpuTicks, freePort, sleep, waitUntil } from './lib/util.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const which = process.argv[2] ?? 'all';
const RATE = Number(process.env.RATE ?? 2000);
const SECONDS = Number(process.env.SECONDS ?? 8);
const WARMUP = 3;
const PIPELINES = Number(process.env.PIPELINES ?? 64);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const ROUNDS = process.env.ROUNDS ? Number(process.env.ROUNDS) : null;
const dist = resolve(process.env.BENCH_DIST ?? join(root, 'dist'));
const name = `dash_topo_${randomBytes(3).toString('hex')}`;
const adminUrl = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
const token = `bench-admin-${randomBytes(8).toString('hex')}`;
const logDir = join(tmpdir(), name);
mkdirSync(logDir, { recursive: true });
const log = (message) => process.stderr.write(`[topo ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const clusterPorts = [7000, 7001, 7002, 7003, 7004, 7005];
const sentinelDataPorts = [7100, 7101];
const single = { label: 'one Redis', ports: [6379], env: { REDIS_URL: 'redis://127.0.0.1:6379' } };
const cluster = { label: 'Cluster 3+3', ports: clusterPorts, env: { REDIS_CLUSTER_NODES: clusterPorts.map((p) => `redis://127.0.0.1:${p}`).join(',') } };
const sentinelEnv = { REDIS_SENTINELS: [26379, 26380, 26381].map((p) => `redis://127.0.0.1:${p}`).join(','), REDIS_SENTINEL_MASTER: 'dash-master' };
const sentinel = (ack) => ({ label: `Sentinel ack=${ack}`, ports: sentinelDataPorts, env: { ...sentinelEnv, REDIS_ACK_REPLICAS: String(ack) } });

/** pid and role of the redis-server on each port (roles move after failovers: read them each time). */
async function servers(ports) {
  const out = [];
  for (const port of ports) {
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))[1]);
      const [role] = await redis.role();
      out.push({ port, pid, role: role === 'master' ? 'master' : 'replica' });
    } finally {
      redis.disconnect();
    }
  }
  return out;
}

/** WAIT commands served so far, summed over the servers (INFO commandstats). */
async function waitCalls(list) {
  let calls = 0;
  for (const { port } of list) {
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      calls += Number(/cmdstat_wait:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    } finally {
      redis.disconnect();
    }
  }
  return calls;
}

function load(port, pool, seconds) {
  let next = 0;
  return new Promise((done, fail) =>
    autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections: CONNECTIONS,
        duration: seconds,
        overallRate: RATE,
        requests: [{ method: 'POST', setupRequest: (request) => Object.assign(request, pool[next++ % pool.length]) }],
      },
      (error, output) => (error ? fail(error) : done(output)),
    ),
  );
}

const children = new Set();
function spawnApp(role, env, port) {
  const appEnv = { ...process.env, NODE_ENV: 'production', DASH_MIGRATE: 'boot', NO_COLOR: '1', APP_ROLE: role, DATABASE_URL: databaseUrl, DASH_KEY_PREFIX: name, DASH_ADMIN_TOKEN: token, PORT: String(port ?? 0), ...env };
  const child = new Child(role, [...nodeFlags(role), join(dist, `apps/${role}/src/main.js`)], { env: appEnv, cwd: root, logPath: join(logDir, `${role}.log`) });
  children.add(child);
  return child;
}

async function runCase(topology, round) {
  const port = await freePort();
  const web = spawnApp('web', topology.env, port);
  const ingestor = spawnApp('ingestor', topology.env);
  try {
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok, { timeoutMs: 90_000, intervalMs: 100, label: 'web /health' });
    await ingestor.waitForLine(/ingestor .* running/, 90_000);
    const pipelines = [];
    for (let i = 0; i < PIPELINES; i++) {
      const response = await fetch(`http://127.0.0.1:${port}/api/pipelines`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `topo-${i}`, source: { type: 'webhook' } }),
      });
      pipelines.push(await response.json());
    }
    // Requests round-robin over the pipelines, so every partition (pipeline id hash) takes its share.
    const perPipeline = Math.ceil(((SECONDS + WARMUP) * RATE * 1.1) / PIPELINES);
    const tag = `r${round}_${randomBytes(3).toString('hex')}`;
    const columns = pipelines.map((p, i) => singlePool(p.signingSecret, perPipeline, `${tag}_${i}`).map((r) => ({ ...r, path: `/webhooks/${p.id}` })));
    const pool = [];
    for (let j = 0; j < perPipeline; j++) for (const column of columns) pool.push(column[j]);
    // Idle baseline (apps up, no load): the redis-servers are shared with other users of the machine.
    const redis = await servers(topology.ports);
    const idleStart = redis.map((s) => cpuTicks(s.pid));
    await sleep(3000);
    const idlePct = redis.map((s, i) => ((cpuTicks(s.pid) - idleStart[i]) / 300) * 100);
    await load(port, pool.slice(0, WARMUP * RATE), WARMUP);
    const waitsBefore = await waitCalls(redis);
    const before = { web: cpuTicks(web.pid), ingestor: cpuTicks(ingestor.pid), redis: redis.map((s) => cpuTicks(s.pid)) };
    const run = await load(port, pool.slice(WARMUP * RATE), SECONDS);
    const after = { web: cpuTicks(web.pid), ingestor: cpuTicks(ingestor.pid), redis: redis.map((s) => cpuTicks(s.pid)) };
    const waits = (await waitCalls(redis)) - waitsBefore;
    const accepted = run['2xx'];
    const perRequest = (ticks) => Number(((ticks * 10_000) / accepted).toFixed(1)); // ticks are 10 ms
    const result = {
      topology: topology.label,
      round,
      reqPerSec: Math.round(accepted / run.duration),
      non2xx: run.non2xx,
      p50: run.latency.p50,
      p99: run.latency.p99,
      webUs: perRequest(after.web - before.web),
      ingestorUs: perRequest(after.ingestor - before.ingestor),
      waitPer2xx: Number((waits / accepted).toFixed(3)),
      redis: redis.map((s, i) => ({ ...s, idlePctOfCore: Number(idlePct[i].toFixed(1)), us: perRequest(after.redis[i] - before.redis[i]), pctOfCore: Number((((after.redis[i] - before.redis[i]) / (run.duration * 100)) * 100).toFixed(1)) })),
    };
    result.redisUs = Number(result.redis.reduce((sum, s) => sum + s.us, 0).toFixed(1));
    const masters = result.redis.filter((s) => s.role === 'master');
    const mastersUs = masters.reduce((sum, s) => sum + s.us, 0);
    const shares = masters.map((s) => `${s.port} ${s.us} µs ${mastersUs ? Math.round((s.us / mastersUs) * 100) : 0}%`).join(', ');
    const replicas = result.redis.filter((s) => s.role === 'replica').map((s) => `${s.port} ${s.us} µs`).join(', ');
    log(`${topology.label} round ${round}: ${result.reqPerSec} req/s, non2xx ${result.non2xx}, p50 ${result.p50} ms, p99 ${result.p99} ms; per 2xx web ${result.webUs} µs, ingestor ${result.ingestorUs} µs, Redis ${result.redisUs} µs [masters: ${shares}${replicas ? `; replicas: ${replicas}` : ''}]; WAIT per 2xx ${result.waitPer2xx}; idle Redis ${result.redis.map((s) => `${s.port} ${s.idlePctOfCore}%`).join(', ')}`);
    return result;
  } finally {
    for (const child of [web, ingestor]) {
      await child.stop();
      children.delete(child);
    }
  }
}

async function cleanup() {
  for (const child of children) await child.stop();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
  // Every master that may hold the prefix's keys (roles may have moved: try every data node, skip replicas).
  let deleted = 0;
  for (const port of [6379, ...clusterPorts, ...sentinelDataPorts]) {
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      if ((await redis.role())[0] !== 'master') continue;
      let cursor = '0';
      do {
        const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${name}:*`, 'COUNT', 1000);
        cursor = nextCursor;
        // One key at a time: on a cluster node, keys of different slots cannot share a DEL.
        for (const key of keys) deleted += await redis.del(key);
      } while (cursor !== '0');
    } catch (error) {
      log(`cleanup of ${port}: ${error.message}`);
    } finally {
      redis.disconnect();
    }
  }
  log(`cleanup: database ${name} dropped, ${deleted} keys deleted`);
}

const results = [];
const started = Date.now();
try {
  await createDatabase();
  if (which === 'all' || which === 'cluster') {
    for (let round = 0; round < (ROUNDS ?? 2); round++) {
      for (const topology of round % 2 ? [single, cluster] : [cluster, single]) results.push(await runCase(topology, round));
    }
  }
  if (which === 'all' || which === 'sentinel') {
    for (let round = 0; round < (ROUNDS ?? 3); round++) {
      for (const ack of round % 2 ? [1, 0] : [0, 1]) results.push(await runCase(sentinel(ack), round));
      await sleep(500);
    }
  }
} finally {
  await cleanup();
}
console.log(JSON.stringify({ rate: RATE, seconds: SECONDS, pipelines: PIPELINES, connections: CONNECTIONS, minutes: Number(((Date.now() - started) / 60_000).toFixed(1)), results }, null, 1));

async function createDatabase() {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
}
