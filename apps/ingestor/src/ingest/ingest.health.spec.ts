import { HealthService } from '@dash/infra';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { IngestHealth, REDIS_LOST_BOUND_MS } from './ingest.health';
import type { IngestWorker } from './ingest.worker';

describe(IngestHealth.name, () => {
  // `/health` reads only the liveness checks: the pool and Redis are for `/ready`, not touched here.
  const health = new HealthService({} as Pool, {} as Redis);
  const worker = { redisLostMs: 0 };
  new IngestHealth(health, worker as IngestWorker).onModuleInit();

  afterAll(() => health.onApplicationShutdown());

  it('is live while the worker has Redis, and through an outage shorter than the bound', () => {
    expect(health.live()).toEqual({ ok: true, failing: [] });
    worker.redisLostMs = REDIS_LOST_BOUND_MS;
    expect(health.live()).toEqual({ ok: true, failing: [] });
  });

  it('fails once the worker has been without Redis for longer than the bound, saying for how long', () => {
    worker.redisLostMs = REDIS_LOST_BOUND_MS + 1_500;
    expect(health.live()).toEqual({ ok: false, failing: [`worker: no Redis connection for ${Math.round((REDIS_LOST_BOUND_MS + 1_500) / 1000)} s`] });
    worker.redisLostMs = 0;
    expect(health.live().ok).toBe(true);
  });
});
