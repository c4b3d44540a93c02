#!/usr/bin/env node
// The web app alone (no ingestor), at a fixed request rate: CPU per accepted webhook of one or more
// builds, alternating, so that steps of the handler can be costed by cutting a copy of dist/ short.
//   node --expose-gc bench/web-alone.mjs <dist dir> [<dist dir> ...]
// RATE (req/s, default 7000), SECONDS (measured, default 10), ROUNDS (default 2), CONNECTIONS (50).
// Builds must not enqueue for real (no ingestor drains them): stub IngestQueue.enqueue in the copy.
// THREADS=1 also prints user and system CPU per request for each thread of the web process.
// WEB_CPUS=1 pins the web process to those CPUs (taskset -c); run the bench itself pinned elsewhere
// (taskset -c 0 node …) so the load generator and the web do not take turns on one core.
import autocannon from 'autocannon';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { nodeFlags } from '../scripts/launch.js';
import { alternating, createWebhookPipeline, dropBenchData, printByBuild } from './lib/builds.mjs';
import { singlePool } from './lib/payload.mjs';
import { cpuTicks, freePort, waitUntil } from './lib/util.mjs';

const dists = process.argv.slice(2);
if (dists.length === 0) throw new Error('usage: node --expose-gc bench/web-alone.mjs <dist dir> [<dist dir> ...]');
const RATE = Number(process.env.RATE ?? 7000);
const SECONDS = Number(process.env.SECONDS ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const name = `dash_webalone_${randomBytes(3).toString('hex')}`;
const adminUrl = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
const token = `bench-admin-${randomBytes(8).toString('hex')}`;

function threadTicks(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out[`${tid}:${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}`] = [Number(fields[11]), Number(fields[12])];
  }
  return out;
}

async function startWeb(dist) {
  const port = await freePort();
  const env = { ...process.env, NODE_ENV: 'production', DASH_MIGRATE: 'boot', NO_COLOR: '1', APP_ROLE: 'web', DATABASE_URL: databaseUrl, DASH_KEY_PREFIX: name, DASH_ADMIN_TOKEN: token, PORT: String(port) };
  const child = spawn(process.execPath, [...nodeFlags('web'), resolve(dist, 'apps/web/src/main.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (process.env.WEB_CPUS) child.once('spawn', () => execFileSync('taskset', ['-a', '-cp', process.env.WEB_CPUS, String(child.pid)], { stdio: 'ignore' }));
  await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok, { timeoutMs: 60_000, intervalMs: 100, label: 'web /health' });
  return { child, port };
}

function load(port, path, pool, seconds) {
  let next = 0;
  return new Promise((done, fail) =>
    autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections: CONNECTIONS,
        duration: seconds,
        overallRate: RATE,
        requests: [{ method: 'POST', path, setupRequest: (request) => Object.assign(request, pool[next++ % pool.length]) }],
      },
      (error, output) => (error ? fail(error) : done(output)),
    ),
  );
}

const results = {};
try {
  for (const { round, dist } of alternating(dists, ROUNDS)) {
    const web = await startWeb(dist);
    try {
      const pipeline = await createWebhookPipeline(web.port, token, 'web-alone');
      const path = `/webhooks/${pipeline.id}`;
      const pool = singlePool(pipeline.signingSecret, Math.ceil((SECONDS + 3) * RATE * 1.1), `r${round}_${randomBytes(3).toString('hex')}`);
      await load(web.port, path, pool.slice(0, 3 * RATE), 3); // warm-up
      globalThis.gc?.();
      const [ticks, threads] = [cpuTicks(web.child.pid), threadTicks(web.child.pid)];
      const run = await load(web.port, path, pool.slice(3 * RATE), SECONDS);
      const accepted = run['2xx'];
      const perRequest = (t) => (t * 10_000) / accepted; // ticks are 10 ms
      let line = `${Math.round(accepted / run.duration)} req/s, ${perRequest(cpuTicks(web.child.pid) - ticks).toFixed(1)} µs per 2xx (non-2xx ${run.non2xx})`;
      if (process.env.THREADS === '1') {
        const after = threadTicks(web.child.pid);
        line += ` [${Object.entries(after)
          .map(([id, [user, system]]) => [id, perRequest(user - (threads[id]?.[0] ?? 0)), perRequest(system - (threads[id]?.[1] ?? 0))])
          .filter(([, user, system]) => user + system >= 0.5)
          .map(([id, user, system]) => `${id} user ${user.toFixed(1)} sys ${system.toFixed(1)}`)
          .join('; ')}]`;
      }
      (results[dist] ??= []).push(line);
      console.log(`${dist}: ${line}`);
    } finally {
      web.child.kill('SIGTERM');
      await new Promise((done) => web.child.once('exit', done));
    }
  }
} finally {
  await dropBenchData(adminUrl, process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', [name]);
}
printByBuild(results);
