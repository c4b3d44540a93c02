#!/usr/bin/env node
// socket.io's classic Redis adapter (PUBLISH/PSUBSCRIBE) against the sharded one (SPUBLISH/
// SSUBSCRIBE) on one Redis, as Dash uses them: WEBS web nodes with VIEWERS sockets over WATCHED
// of ROOMS rooms, PUBLISHERS ingestors each a non-listening socket.io server emitting RATE updates
// a second (over all rooms, round robin) for SECONDS. Alternates the two ROUNDS times and prints
// the CPU of the web nodes, the publishers and redis-server per 1000 updates, and the updates the
// viewers received (the same for both, or the run is wrong).
//   node bench/live-adapters.mjs
// Its own redis-server on a free port (nothing else on it); everything it starts, it stops.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { cpuTicks, freePort, sleep, waitUntil } from './lib/util.mjs';

const WEBS = Number(process.env.WEBS ?? 2);
const PUBLISHERS = Number(process.env.PUBLISHERS ?? 2);
const VIEWERS = Number(process.env.VIEWERS ?? 200);
const ROOMS = Number(process.env.ROOMS ?? 400);
const WATCHED = Number(process.env.WATCHED ?? 100);
const RATE = Number(process.env.RATE ?? 2000);
const SECONDS = Number(process.env.SECONDS ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const SELF = fileURLToPath(import.meta.url);
const room = (i) => `pipeline:${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`;
const payload = { count: 1, version: 1, lastEventAt: new Date(0).toISOString(), lastEvent: { id: 'e', type: 't', payload: { amount: 12.5, currency: 'EUR', customer: 'c_123456' } } };

/** A child: `web <kind> <redisPort> <httpPort>` or `publisher <kind> <redisPort> <index>`. */
async function child([role, kind, redisPort, arg]) {
  const { Redis } = await import('ioredis');
  const { Server } = await import('socket.io');
  const { createAdapter, createShardedAdapter } = await import('@socket.io/redis-adapter');
  const pub = new Redis(Number(redisPort));
  const sub = new Redis(Number(redisPort));
  const adapter = kind === 'sharded' ? createShardedAdapter(pub, sub, { channelPrefix: 'bench:socket.io', subscriptionMode: 'dynamic' }) : createAdapter(pub, sub, { key: 'bench:socket.io' });
  if (role === 'web') {
    const server = new Server(Number(arg), { transports: ['websocket'] });
    server.adapter(adapter);
    server.on('connection', (socket) => socket.on('subscribe', (name, ack) => void Promise.resolve(socket.join(name)).then(() => ack())));
    process.send?.('ready');
    return;
  }
  const server = new Server();
  server.adapter(adapter);
  process.send?.('ready');
  // Waits for the go, then emits at its share of RATE, in 10 ms ticks.
  await new Promise((resolve) => process.once('message', resolve));
  const share = RATE / PUBLISHERS;
  const started = Date.now();
  let sent = 0;
  let next = Number(arg);
  while (Date.now() - started < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * share);
    for (; sent < due; sent++) {
      server.to(room(next % ROOMS)).emit('data_updated', { ...payload, pipelineId: room(next % ROOMS), emittedAt: new Date().toISOString() });
      next += PUBLISHERS;
    }
    await sleep(10);
  }
  process.send?.(`sent ${sent}`);
}

function startChild(args) {
  const proc = spawn(process.execPath, [SELF, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, BENCH_CHILD: '1' } });
  const ready = new Promise((resolve) => proc.once('message', resolve));
  return { proc, ready };
}

async function round(kind, redis) {
  const webs = [];
  for (let i = 0; i < WEBS; i++) {
    const port = await freePort();
    const web = startChild(['web', kind, String(redis.port), String(port)]);
    await web.ready;
    webs.push({ ...web, port });
  }
  const publishers = [];
  for (let i = 0; i < PUBLISHERS; i++) {
    const publisher = startChild(['publisher', kind, String(redis.port), String(i)]);
    await publisher.ready;
    publishers.push(publisher);
  }
  let received = 0;
  const sockets = [];
  for (let i = 0; i < VIEWERS; i++) {
    const socket = io(`http://127.0.0.1:${webs[i % WEBS].port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
    socket.on('data_updated', () => received++);
    await new Promise((resolve) => socket.once('connect', resolve));
    // Watched rooms spread over the web nodes: each has viewers on every node.
    await new Promise((resolve) => socket.emit('subscribe', room(Math.floor(i / WEBS) % WATCHED), resolve));
    sockets.push(socket);
  }
  await sleep(500);
  const pids = { web: webs.map((w) => w.proc.pid), publishers: publishers.map((p) => p.proc.pid), redis: [redis.proc.pid] };
  const ticks = () => Object.fromEntries(Object.entries(pids).map(([name, list]) => [name, list.reduce((sum, pid) => sum + cpuTicks(pid), 0)]));
  const before = ticks();
  const done = publishers.map((p) => new Promise((resolve) => p.proc.on('message', (m) => String(m).startsWith('sent') && resolve(Number(String(m).slice(5))))));
  for (const p of publishers) p.proc.send('go');
  const sent = (await Promise.all(done)).reduce((a, b) => a + b, 0);
  await sleep(300);
  const after = ticks();
  for (const socket of sockets) socket.disconnect();
  for (const child of [...webs, ...publishers]) child.proc.kill('SIGKILL');
  await sleep(200);
  // ms of CPU per 1000 updates (a tick is 10 ms).
  const per1000 = (name) => ((after[name] - before[name]) * 10 * 1000) / sent;
  return { kind, sent, received, webMs: per1000('web'), publishersMs: per1000('publishers'), redisMs: per1000('redis') };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'dash-bench-live-'));
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const redis = { port, proc };
  try {
    const { Redis } = await import('ioredis');
    const probe = new Redis(port, { lazyConnect: true, retryStrategy: () => 100 });
    await waitUntil(async () => (await probe.ping().catch(() => null)) === 'PONG', { label: 'redis-server' });
    probe.disconnect();
    console.log(`${WEBS} web nodes, ${PUBLISHERS} publishers, ${VIEWERS} viewers on ${WATCHED} of ${ROOMS} rooms, ${RATE} updates/s for ${SECONDS} s; CPU ms per 1000 updates`);
    const results = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const kind of r % 2 === 0 ? ['classic', 'sharded'] : ['sharded', 'classic']) {
        const result = await round(kind, redis);
        results.push(result);
        console.log(`${kind.padEnd(8)} sent ${result.sent} received ${result.received}  web ${result.webMs.toFixed(0)}  publishers ${result.publishersMs.toFixed(0)}  redis ${result.redisMs.toFixed(0)}`);
      }
    }
  } finally {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_CHILD) await child(process.argv.slice(2));
else await main();
