import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { withTimeout } from '@dash/domain';
import type { RedisClient } from '../redis/redis';
import type { Pool } from 'pg';
import { PG_POOL } from '../database/database.module';
import { REDIS } from '../redis/redis.module';

const CHECK_TIMEOUT_MS = 2000;
const TICK_MS = 500;
/** An event loop that did not turn for this long is stalled: the process cannot serve. */
export const LOOP_STALL_MS = 5_000;
/** A stall is reported for this long after it ended, so a platform polling every few seconds sees it. */
const STALL_REPORT_MS = 30_000;

export interface HealthReport {
  ok: boolean;
  /** What is wrong, each as "name: reason". */
  failing: string[];
}

/** A liveness check: a reason when the process is unwell, else null. */
export type LivenessCheck = () => string | null;

async function probe(name: string, run: () => Promise<unknown>): Promise<string | null> {
  try {
    await withTimeout(run(), CHECK_TIMEOUT_MS, 'check');
    return null;
  } catch (error) {
    return `${name}: ${(error as Error).message}`;
  }
}

/**
 * `/health` (liveness: the process can do its work; a platform restarts it when not) and `/ready`
 * (readiness: PostgreSQL and Redis answer; a platform stops routing to it when not).
 */
@Injectable()
export class HealthService implements OnApplicationShutdown {
  private readonly checks = new Map<string, LivenessCheck>();
  private lastTick = performance.now();
  private stall: { ms: number; endedAt: number } | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {
    // A tick that comes late measures a stall (a synchronous loop, a GC storm) once it ends.
    this.timer = setInterval(() => {
      const now = performance.now();
      const gap = now - this.lastTick - TICK_MS;
      if (gap >= LOOP_STALL_MS) this.stall = { ms: gap, endedAt: now };
      this.lastTick = now;
    }, TICK_MS);
    this.timer.unref();
  }

  /** Adds a liveness check (an ingestor's worker connection, for instance). */
  addCheck(name: string, check: LivenessCheck): void {
    this.checks.set(name, check);
  }

  live(): HealthReport {
    const failing: string[] = [];
    const now = performance.now();
    if (this.stall && now - this.stall.endedAt < STALL_REPORT_MS) failing.push(`event loop: stalled for ${Math.round(this.stall.ms)} ms ${Math.round((now - this.stall.endedAt) / 1000)} s ago`);
    for (const [name, check] of this.checks) {
      const reason = check();
      if (reason) failing.push(`${name}: ${reason}`);
    }
    return { ok: failing.length === 0, failing };
  }

  async ready(): Promise<HealthReport> {
    const failing = (await Promise.all([probe('postgres', () => this.pool.query('SELECT 1')), probe('redis', () => this.redis.ping())])).filter((f): f is string => f !== null);
    return { ok: failing.length === 0, failing };
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}
