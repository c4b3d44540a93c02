import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Every figure a bench run reports; the smoke run must produce each one. */
const FIGURES = [
  'intake.requestsPerSecond',
  'intake.p50',
  'intake.p99',
  'intake.non2xx',
  'intake.cpuPerRequest.http',
  'intake.cpuPerRequest.all',
  'intake.ceiling',
  'intake.catchUp',
  'intake.eventsPerJob',
  'intake.eventsPerFlush',
  'naive.requestsPerSecond',
  'naive.vsDash',
  'naive.p99',
  'batched.eventsPerSecond',
  'batched.non2xx',
  'batched.catchUp',
  'batched.eventsPerJob',
  'batched.eventsPerFlush',
  'write.eventsPerSecond',
  'write.eventsPerFlush',
  'write.cpuPerEvent.postgres',
  'write.cpuPerEvent.all',
  'write.ceiling',
  'write.hypertable.eventsPerSecond',
  'write.hypertable.vsNative',
  'write.hypertable.copyVsNative',
  'write.hypertable.cpuPerEvent.postgres',
  'freshness.light.p50',
  'freshness.light.p99',
  'freshness.half.p50',
  'freshness.half.p99',
  'fanout.deliveriesPerSecond',
  'fanout.p50',
  'fanout.p99',
  'backlog.leaked',
  'rss.web.idle',
  'rss.web.intakePeak',
  'rss.web.sockets',
  'rss.ingestor.idle',
  'rss.ingestor.intakePeak',
  'rss.ingestor.peak',
];

interface Figure {
  id: string;
  value: number | null;
  baseline: number | null;
  ratio: number | null;
}

function runBench(out: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const root = join(__dirname, '..', '..');
    // The apps are built by `npm test` before jest starts.
    const child = spawn(process.execPath, ['bench/run.mjs', '--smoke', '--no-build', '--out', out], { cwd: root, env: { ...process.env, BENCH_CPU_PROF: '' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

// Runs every scenario of `npm run bench` briefly, so the bench never rots. No timing targets.
describe('bench smoke run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dash-bench-smoke-'));
  const out = join(dir, 'results.json');

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('completes and writes every figure beside its baseline', async () => {
    const { code, output } = await runBench(out);
    if (code !== 0) throw new Error(`bench exited with ${code}:\n${output.slice(-4000)}`);
    expect(output).toContain('Intake, 1 event/request');

    const results = JSON.parse(readFileSync(out, 'utf8')) as { settings: { mode: string }; figures: Figure[] };
    expect(results.settings.mode).toBe('smoke');
    const byId = new Map(results.figures.map((figure) => [figure.id, figure]));
    for (const id of FIGURES) {
      const figure = byId.get(id);
      expect({ id, present: figure !== undefined }).toEqual({ id, present: true });
      expect({ id, value: Number.isFinite(figure?.value) }).toEqual({ id, value: true });
    }
    // Ratios exist wherever a baseline was measured in the same run.
    for (const figure of results.figures.filter((f) => f.baseline !== null && f.baseline > 0)) {
      expect({ id: figure.id, ratio: Number.isFinite(figure.ratio) }).toEqual({ id: figure.id, ratio: true });
    }
  }, 240_000);
});
