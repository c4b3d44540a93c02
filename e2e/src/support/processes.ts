import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { nodeFlags } from '../../../scripts/launch';
import { queryDb, sendWebhook, type CreatedPipeline, type TestEnv } from './harness';

/**
 * Real processes for the fault suites: the built apps (dist/apps/{web,ingestor}/src/main.js)
 * started with their environment, their own redis-server, and a TCP proxy in front of
 * PostgreSQL that a test can cut. Everything started here is killed by `killAll()`, and by
 * the test process's exit as a last resort.
 */

const ROOT = resolve(__dirname, '../../..');
export const WEB_MAIN = join(ROOT, 'dist/apps/web/src/main.js');
export const INGESTOR_MAIN = join(ROOT, 'dist/apps/ingestor/src/main.js');
const MAX_LOG_LINES = 3000;

const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One child process with its output kept (last lines) for assertions and for failure reports. */
export class Proc {
  readonly lines: string[] = [];
  readonly exited: Promise<Exit>;
  private exit: Exit | null = null;
  private partial = '';

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    spawned.add(child);
    const collect = (chunk: Buffer) => {
      const text = this.partial + chunk.toString('utf8');
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      for (const line of parts) this.lines.push(line);
      if (this.lines.length > MAX_LOG_LINES) this.lines.splice(0, this.lines.length - MAX_LOG_LINES);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise<Exit>((done) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        spawned.delete(child);
        done(this.exit);
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exit === null;
  }

  get exitStatus(): Exit | null {
    return this.exit;
  }

  /** Log lines matching a pattern, in order. */
  grep(pattern: RegExp): string[] {
    return this.lines.filter((line) => pattern.test(line));
  }

  async waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = this.lines.find((l) => pattern.test(l));
      if (line) return line;
      if (!this.alive) break;
      await sleep(50);
    }
    throw new Error(`${this.name}: no line matching ${pattern} (${this.alive ? 'timed out' : `exited ${JSON.stringify(this.exit)}`})\n${this.tail()}`);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** Waits for the exit, failing after `timeoutMs` (the bound a test promises). */
  async waitForExit(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${this.name} did not exit within ${timeoutMs} ms\n${this.tail()}`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** kill -9, and wait until the kernel reports it gone. */
  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  tail(n = 60): string {
    return this.lines.slice(-n).map((line) => `  [${this.name}] ${line}`).join('\n');
  }
}

function spawnNode(name: string, main: string, env: Record<string, string>): Proc {
  // The flags each app is deployed with, from scripts/launch.js (node is spawned directly, not
  // through the launcher, so a test's kill -9 reaches the app itself).
  const flags = nodeFlags(main === INGESTOR_MAIN ? 'ingestor' : 'web');
  const child = spawn(process.execPath, [...flags, main], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', TZ: 'UTC', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Proc(name, child);
}

export interface WebProc extends Proc {
  url: string;
}

/** The built web app on a free port, resolved once `/health` answers. */
export async function spawnWeb(env: Record<string, string>, name = 'web'): Promise<WebProc> {
  const port = await freePort();
  const proc = spawnNode(name, WEB_MAIN, { ...env, PORT: String(port) }) as WebProc;
  proc.url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && proc.alive) {
    const ok = await fetch(`${proc.url}/health`).then((r) => r.ok, () => false);
    if (ok) return proc;
    await sleep(100);
  }
  proc.signal('SIGKILL');
  throw new Error(`${name} did not start\n${proc.tail()}`);
}

/** The built ingestor, resolved once it logs that it runs. */
export async function spawnIngestor(env: Record<string, string>, name = 'ingestor'): Promise<Proc> {
  const proc = spawnNode(name, INGESTOR_MAIN, env);
  await proc.waitForLine(/ingestor .* running/, 60_000);
  return proc;
}

/** A process that is expected to stop by itself (for refusals at start). */
/** One ingestor and one web node as real processes on a suite's own database and key prefix. */
export async function spawnStack(env: Record<string, string>): Promise<{ ingestor: Proc; web: WebProc; procs: Proc[] }> {
  const ingestor = await spawnIngestor(env, 'ingestor');
  const web = await spawnWeb(env, 'web');
  return { ingestor, web, procs: [ingestor, web] };
}

export function spawnApp(role: 'web' | 'ingestor', env: Record<string, string>, name: string = role): Proc {
  return spawnNode(name, role === 'web' ? WEB_MAIN : INGESTOR_MAIN, env);
}

/** A redis-server of the test's own, on a free port, without persistence unless asked. */
export class OwnRedis {
  proc: Proc | null = null;
  readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly args: string[],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'dash-redis-'));
  }

  static async start(args: string[] = []): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), args);
    await redis.startAgain();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async startAgain(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', this.dir, ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = new Proc(`redis:${this.port}`, child);
    await this.proc.waitForLine(/Ready to accept connections/, 15_000);
  }

  /** kill -9: the server vanishes at once, as on a crash. */
  async crash(): Promise<void> {
    await this.proc?.kill9();
  }

  async stop(): Promise<void> {
    if (this.proc?.alive) {
      this.proc.signal('SIGTERM');
      await this.proc.waitForExit(15_000).catch(() => this.proc?.kill9());
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Every process a suite started, killed (kill -9) in one call, for afterAll and failures. */
export async function killAll(procs: Array<Proc | null | undefined>): Promise<void> {
  // A process that died by itself is a finding: its last words go to the report.
  for (const proc of procs) {
    const exit = proc?.exitStatus;
    if (proc && exit && exit.signal !== 'SIGKILL' && exit.code !== 0) process.stdout.write(`\n${proc.name} exited by itself ${JSON.stringify(exit)}:\n${proc.tail(40)}\n`);
  }
  await Promise.all(procs.map((proc) => proc?.kill9()));
  // And any child of this suite the list missed (still starting when a hook timed out).
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

// ---- load and reconciliation ----

export interface LoadStats {
  sent: Set<string>;
  acknowledged: Set<string>;
  statuses: Map<number | string, number>;
}

export interface LoadOptions {
  /** Where requests go, chosen per request (round robin over several web nodes). */
  targets: () => string[];
  pipeline: CreatedPipeline;
  /** Unique events to send. */
  events: number;
  /** Events per request (a JSON array batch when > 1). */
  batch?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Retry a request answered 429/503 or not answered at all, as a sender would (bounded). */
  retries?: number;
  /** Called after each acknowledged request (to inject a fault mid-stream). */
  onAck?: (acknowledged: number) => void | Promise<void>;
  /** Stops sending early when true. */
  stop?: () => boolean;
  idPrefix?: string;
  /** No request starts or is retried after this long (a hung dependency cannot hang the suite). */
  deadlineMs?: number;
}

/**
 * Sends `events` uniquely identified events the way a Standard Webhooks sender does: each
 * request is retried with the same webhook-id until it is acknowledged (202) or the retries run
 * out. Records which events were sent and which were acknowledged.
 */
export async function runLoad(options: LoadOptions, stats: LoadStats = newLoadStats()): Promise<LoadStats> {
  const batch = options.batch ?? 10;
  const concurrency = options.concurrency ?? 8;
  const retries = options.retries ?? 40;
  const prefix = options.idPrefix ?? `e${randomBytes(3).toString('hex')}`;
  const requests = Math.ceil(options.events / batch);
  let next = 0;
  let turn = 0;
  const deadline = Date.now() + (options.deadlineMs ?? 100_000);
  const over = () => Date.now() > deadline || (options.stop?.() ?? false);

  const one = async (r: number) => {
    const ids = Array.from({ length: Math.min(batch, options.events - r * batch) }, (_, i) => `${prefix}-${r * batch + i}`);
    const body = ids.length === 1 ? { id: ids[0], n: r } : ids.map((id, i) => ({ id, n: r * batch + i }));
    const webhookId = ids.length === 1 ? ids[0] : `${prefix}-req-${r}`;
    for (const id of ids) stats.sent.add(id);
    for (let attempt = 0; attempt <= retries && !over(); attempt++) {
      const targets = options.targets();
      const target = targets[turn++ % targets.length];
      let status: number | string;
      try {
        status = (await sendWebhook(target, options.pipeline, body, { id: webhookId })).status;
      } catch (error) {
        status = `network:${(error as { cause?: { code?: string } }).cause?.code ?? 'error'}`;
      }
      stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
      if (status === 202) {
        for (const id of ids) stats.acknowledged.add(id);
        await options.onAck?.(stats.acknowledged.size);
        return;
      }
      if (typeof status === 'number' && status < 500 && status !== 429) return; // a 4xx the sender would not retry
      await sleep(Math.min(100 * 2 ** Math.min(attempt, 4), 1000));
    }
  };

  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests && !over()) await one(next++);
    }),
  );
  return stats;
}

export function newLoadStats(): LoadStats {
  return { sent: new Set(), acknowledged: new Set(), statuses: new Map() };
}

export interface Reconciliation {
  fault: string;
  sent: number;
  acknowledged: number;
  stored: number;
  duplicates: number;
  lost: number;
  /** Stored events that were sent but never acknowledged (the sender gave up or the answer was lost). */
  storedUnacknowledged: number;
  /** Stored events nobody sent: must be 0. */
  unknown: number;
}

/**
 * Waits (bounded) until every acknowledged event is stored, then counts: stored rows,
 * duplicates (rows beyond the first per event id), lost (acknowledged and not stored).
 * Prints the figures, the suite's report for this fault.
 */
export async function reconcile(env: TestEnv, pipelineId: string, stats: LoadStats, fault: string, timeoutMs = 60_000): Promise<Reconciliation> {
  const count = async () => Number((await queryDb<{ n: string }>(env, 'SELECT count(DISTINCT event_id) AS n FROM events WHERE pipeline_id = $1', [pipelineId]))[0].n);
  const deadline = Date.now() + timeoutMs;
  let settledAt = 0;
  let last = -1;
  // Until every acknowledged event is there and the count stood still for a moment (late duplicates show up too).
  while (Date.now() < deadline) {
    const n = await count();
    if (n !== last) {
      last = n;
      settledAt = Date.now();
    } else if (n >= stats.acknowledged.size && Date.now() - settledAt >= 1500) break;
    await sleep(250);
  }
  const rows = await queryDb<{ event_id: string; n: string }>(env, 'SELECT event_id, count(*) AS n FROM events WHERE pipeline_id = $1 GROUP BY event_id', [pipelineId]);
  const stored = new Set(rows.map((row) => row.event_id));
  const result: Reconciliation = {
    fault,
    sent: stats.sent.size,
    acknowledged: stats.acknowledged.size,
    stored: rows.reduce((sum, row) => sum + Number(row.n), 0),
    duplicates: rows.reduce((sum, row) => sum + Number(row.n) - 1, 0),
    lost: [...stats.acknowledged].filter((id) => !stored.has(id)).length,
    storedUnacknowledged: [...stored].filter((id) => stats.sent.has(id) && !stats.acknowledged.has(id)).length,
    unknown: [...stored].filter((id) => !stats.sent.has(id)).length,
  };
  const statuses = [...stats.statuses].map(([status, n]) => `${status}×${n}`).join(' ');
  process.stdout.write(
    `\n[reconcile] ${fault}: sent=${result.sent} acknowledged=${result.acknowledged} stored=${result.stored} duplicates=${result.duplicates} lost=${result.lost}` +
      ` (stored but unacknowledged=${result.storedUnacknowledged}; responses ${statuses})\n`,
  );
  return result;
}
