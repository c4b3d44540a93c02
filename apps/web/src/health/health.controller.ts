import { Controller, Get, Inject, Res } from '@nestjs/common';
import { PG_POOL, REDIS } from '@dash/infra';
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';

const CHECK_TIMEOUT_MS = 2000;

async function check(name: string, probe: () => Promise<unknown>): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([probe(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS)))]);
    return null;
  } catch (error) {
    return `${name}: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

@Controller()
export class HealthController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  /** The process serves: no dependency is checked. */
  @Get('health')
  health() {
    return { status: 'ok' };
  }

  /** PostgreSQL and Redis both answer. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const failures = (await Promise.all([check('postgres', () => this.pool.query('SELECT 1')), check('redis', () => this.redis.ping())])).filter(Boolean);
    if (failures.length === 0) return { status: 'ready' };
    void reply.status(503);
    return { error: 'unavailable', message: `not ready: ${failures.join('; ')}`, failing: failures };
  }
}
