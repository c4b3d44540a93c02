import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';

/** Reads a small kernel file, or null where it does not exist (no cgroup, another OS). */
function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

// cgroup v1 reports "no limit" as a huge number near 2^63, rounded to the page size.
const V1_UNLIMITED = 2 ** 60;

/**
 * The memory this process may use: its cgroup's limit (v2 `memory.max`, else v1
 * `memory.limit_in_bytes`), else the machine's memory. A container's limit is what the kernel
 * kills it at, so that is what the ratio must be taken against.
 */
export function memoryLimitBytes(root = '/sys/fs/cgroup'): number {
  const v2 = read(`${root}/memory.max`);
  if (v2 && v2 !== 'max' && Number(v2) > 0) return Math.min(Number(v2), totalmem());
  const v1 = read(`${root}/memory/memory.limit_in_bytes`);
  if (v1 && Number(v1) > 0 && Number(v1) < V1_UNLIMITED) return Math.min(Number(v1), totalmem());
  return totalmem();
}

/** The cores this process may use: its cgroup's CPU quota (v2 `cpu.max`, else v1 CFS), else the machine's cores. */
export function cpuLimitCores(root = '/sys/fs/cgroup'): number {
  const cores = availableParallelism();
  const v2 = read(`${root}/cpu.max`);
  if (v2) {
    const [quota, period] = v2.split(/\s+/);
    if (quota !== 'max' && Number(quota) > 0 && Number(period) > 0) return Math.min(Number(quota) / Number(period), cores);
    return cores;
  }
  const quota = Number(read(`${root}/cpu/cpu.cfs_quota_us`));
  const period = Number(read(`${root}/cpu/cpu.cfs_period_us`));
  if (quota > 0 && period > 0) return Math.min(quota / period, cores);
  return cores;
}

const WINDOW_MS = 10_000;
const SAMPLE_MS = 2_000;

/**
 * CPU used by this process over the last 10 s, as a share of the cores it may use. Samples every
 * 2 s (a timer that keeps nothing alive); a scrape reads the oldest sample still in the window.
 */
export class CpuWindow {
  private readonly samples: Array<{ at: number; micros: number }> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly cores = cpuLimitCores()) {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  ratio(): number {
    const now = this.current();
    const oldest = this.samples[0];
    const elapsedMicros = (now.at - oldest.at) * 1000;
    if (elapsedMicros <= 0 || this.cores <= 0) return 0;
    return (now.micros - oldest.micros) / elapsedMicros / this.cores;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private current(): { at: number; micros: number } {
    const usage = process.cpuUsage();
    return { at: performance.now(), micros: usage.user + usage.system };
  }

  private sample(): void {
    const now = this.current();
    this.samples.push(now);
    while (this.samples.length > 1 && now.at - this.samples[0].at > WINDOW_MS) this.samples.shift();
  }
}
