// A worker thread holding many socket.io viewers of one pipeline, so the client side of the
// fan-out test spreads over threads. Records, for each data_updated received, the arrival
// time (epoch ms, sub-ms) and the update's emittedAt, count and version. With `breakdown`, each
// socket also follows that breakdown and records its breakdown_updated (arrival, total) instead.
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { io } from 'socket.io-client';

const { url, token, pipelineId, sockets: wanted, concurrency = 50, recordUpdates = false, breakdown } = workerData;
const now = () => performance.timeOrigin + performance.now();
const sockets = [];
let recording = false;
let deliveries = 0;
let latencies = [];
let updates = [];
const versions = new Set();

function onUpdate(update) {
  if (!recording) return;
  const at = now();
  deliveries += 1;
  latencies.push(at - Date.parse(update.emittedAt));
  versions.add(update.version);
  if (recordUpdates) updates.push([at, update.count, update.version]);
}

function onBreakdown(update) {
  if (recording && recordUpdates) updates.push([now(), update.total, 0]);
}

async function connectOne() {
  const socket = io(url, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true, timeout: 60_000 });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const ack = await socket.timeout(60_000).emitWithAck('subscribe', breakdown ? { pipelineId, breakdown } : { pipelineId });
  if (!ack?.ok) throw new Error(`subscribe refused: ${JSON.stringify(ack)}`);
  if (breakdown) socket.on('breakdown_updated', onBreakdown);
  else socket.on('data_updated', onUpdate);
  sockets.push(socket);
}

async function connectAll() {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, wanted) }, async () => {
    while (next < wanted) {
      next += 1;
      await connectOne();
    }
  });
  await Promise.all(lanes);
}

parentPort.on('message', (command) => {
  if (command.type === 'start') {
    deliveries = 0;
    latencies = [];
    updates = [];
    versions.clear();
    recording = true;
    parentPort.postMessage({ type: 'started' });
  } else if (command.type === 'report') {
    recording = Boolean(command.keepRecording);
    parentPort.postMessage({ type: 'report', deliveries, latencies, updates, versions: versions.size, connected: sockets.filter((s) => s.connected).length });
  } else if (command.type === 'close') {
    for (const socket of sockets) socket.disconnect();
    parentPort.postMessage({ type: 'closed' });
    setTimeout(() => process.exit(0), 50);
  }
});

connectAll().then(
  () => parentPort.postMessage({ type: 'ready', connected: sockets.length }),
  (error) => parentPort.postMessage({ type: 'error', message: error.message }),
);
