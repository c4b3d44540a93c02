import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { cpuLimitCores, CpuWindow, memoryLimitBytes } from './resources';

describe('cgroup limits', () => {
  let root: string;
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), `${text}\n`);
  };

  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'dash-cgroup-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reads the memory limit from cgroup v2, then v1, else takes the machine', () => {
    expect(memoryLimitBytes(root)).toBe(totalmem());
    write('memory/memory.limit_in_bytes', String(256 * 1024 * 1024));
    expect(memoryLimitBytes(root)).toBe(Math.min(256 * 1024 * 1024, totalmem()));
    write('memory.max', String(128 * 1024 * 1024));
    expect(memoryLimitBytes(root)).toBe(Math.min(128 * 1024 * 1024, totalmem()));
  });

  it('treats "max" and v1\'s huge value as no limit', () => {
    write('memory.max', 'max');
    expect(memoryLimitBytes(root)).toBe(totalmem());
    rmSync(join(root, 'memory.max'));
    write('memory/memory.limit_in_bytes', '9223372036854771712');
    expect(memoryLimitBytes(root)).toBe(totalmem());
  });

  it('reads the CPU quota as cores (v2 cpu.max, v1 CFS), never above the machine', () => {
    expect(cpuLimitCores(root)).toBe(availableParallelism());
    write('cpu/cpu.cfs_quota_us', '50000');
    write('cpu/cpu.cfs_period_us', '100000');
    expect(cpuLimitCores(root)).toBe(Math.min(0.5, availableParallelism()));
    write('cpu.max', 'max 100000');
    expect(cpuLimitCores(root)).toBe(availableParallelism());
    write('cpu.max', '25000 100000');
    expect(cpuLimitCores(root)).toBe(0.25);
  });
});

describe(CpuWindow.name, () => {
  it('reports the CPU this process used over the elapsed time, divided by the cores it may use', async () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const one = new CpuWindow(1);
    const four = new CpuWindow(4);
    try {
      const until = performance.now() + 150;
      while (performance.now() < until) Math.sqrt(Math.random());
      await new Promise((done) => setTimeout(done, 10));
      const ratio = one.ratio();
      const used = process.cpuUsage(cpu0);
      const expected = (used.user + used.system) / 1000 / (performance.now() - t0);
      // However busy the machine, the window measures what this process got.
      expect(ratio).toBeGreaterThan(0);
      expect(Math.abs(ratio - expected)).toBeLessThan(0.1);
      expect(four.ratio() * 4).toBeCloseTo(one.ratio(), 0);
    } finally {
      one.stop();
      four.stop();
    }
  });
});
