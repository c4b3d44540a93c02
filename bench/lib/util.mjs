// Small helpers of the bench: processes, /proc readings, percentiles, a paced HTTP sender.
import { spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Epoch milliseconds with sub-millisecond resolution, comparable across worker threads. */
export const now = () => performance.timeOrigin + performance.now();

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function waitUntil(probe, { timeoutMs = 30_000, intervalMs = 20, label = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await sleep(intervalMs);
  }
}

/** VmRSS of a process in MB, or null once it is gone. */
export function rssMb(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** utime + stime of one process, in clock ticks (1/100 s on Linux). */
export function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** CPU ticks of each process whose command name is `comm` (e.g. every PostgreSQL backend), by pid. */
export function cpuTicksByPid(comm) {
  const ticks = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name === comm) {
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks.set(entry, Number(fields[11]) + Number(fields[12]));
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks;
}

/** Machine-wide busy and total ticks from /proc/stat. */
export function machineTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.slice(0, 8).reduce((sum, v) => sum + v, 0);
  return { busy: total - idle, total };
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  return { n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1] : null };
}

/** A child process with its output in a log file, lines kept for readiness checks. */
export class Child {
  constructor(name, args, { env, cwd, logPath, ipc = false }) {
    this.name = name;
    this.lines = [];
    this.waiters = [];
    this.exited = false;
    this.log = createWriteStream(logPath, { flags: 'a' });
    this.process = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])] });
    this.pid = this.process.pid;
    this.exit = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => {
        this.exited = true;
        this.log.write(`[bench] ${name} exited (${signal ?? code})\n`);
        resolve({ code, signal });
      });
    });
    for (const stream of [this.process.stdout, this.process.stderr]) {
      let rest = '';
      stream.on('data', (chunk) => {
        this.log.write(chunk);
        const text = rest + chunk.toString('utf8');
        const parts = text.split('\n');
        rest = parts.pop();
        for (const line of parts) this.onLine(line);
      });
    }
  }

  onLine(line) {
    this.lines.push(line);
    if (this.lines.length > 500) this.lines.shift();
    for (const waiter of [...this.waiters]) {
      if (waiter.pattern.test(line)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  }

  waitForLine(pattern, timeoutMs = 60_000) {
    const seen = this.lines.find((line) => pattern.test(line));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { pattern, resolve };
      this.waiters.push(waiter);
      const timer = setTimeout(() => reject(new Error(`${this.name}: no line matching ${pattern} within ${timeoutMs} ms; last output:\n${this.lines.slice(-20).join('\n')}`)), timeoutMs);
      timer.unref();
      void this.exit.then(() => reject(new Error(`${this.name} exited; last output:\n${this.lines.slice(-20).join('\n')}`)));
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 15_000) {
    if (this.exited) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!this.exited) this.process.kill('SIGKILL');
    }, graceMs);
    await this.exit;
    clearTimeout(timer);
    this.log.end();
  }

  kill() {
    if (!this.exited) this.process.kill('SIGKILL');
  }
}

/**
 * Open-loop sender: POSTs pre-signed requests at `rate` per second for `durationMs`, evenly
 * spread (not in bursts), over a keep-alive pool. Records when each 2xx answer arrived.
 */
export async function pacedSend({ port, path, pool, rate, durationMs, maxSockets = 64 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const acceptedAt = [];
  const statusCodes = {};
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let inFlight = 0;
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const started = now();
  await new Promise((resolve) => {
    const finishIfDone = () => {
      if (sent >= total && inFlight === 0) resolve();
    };
    const sendOne = (item) => {
      inFlight += 1;
      const request = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...item.headers, 'content-length': item.body.length } }, (response) => {
        response.resume();
        response.on('end', () => {
          statusCodes[response.statusCode] = (statusCodes[response.statusCode] ?? 0) + 1;
          if (response.statusCode >= 200 && response.statusCode < 300) acceptedAt.push(now());
          else non2xx += 1;
          inFlight -= 1;
          finishIfDone();
        });
      });
      request.on('error', () => {
        errors += 1;
        inFlight -= 1;
        finishIfDone();
      });
      request.end(item.body);
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - started) / 1000) * rate) + 1);
      while (sent < due) sendOne(pool[sent++ % pool.length]);
      if (sent < total) setTimeout(tick, Math.min(5, Math.max(1, Math.floor(1000 / rate))));
      else finishIfDone();
    };
    tick();
  });
  agent.destroy();
  return { sent, acceptedAt, statusCodes, non2xx, errors, startedAt: started, seconds: (now() - started) / 1000 };
}
