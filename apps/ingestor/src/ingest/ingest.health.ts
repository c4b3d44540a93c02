import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HealthService } from '@dash/infra';
import { IngestWorker } from './ingest.worker';

/**
 * A worker that has been without Redis this long is unhealthy: `/health` fails so a platform can
 * replace the machine (its network, DNS or TLS state may be what is broken). Shorter outages are
 * ridden out by reconnecting; `/ready` names Redis at once.
 */
export const REDIS_LOST_BOUND_MS = 60_000;

/** Adds the ingestor's own liveness checks to `/health`. */
@Injectable()
export class IngestHealth implements OnModuleInit {
  constructor(
    private readonly health: HealthService,
    private readonly worker: IngestWorker,
  ) {}

  onModuleInit(): void {
    this.health.addCheck('worker', () => {
      const lost = this.worker.redisLostMs;
      return lost > REDIS_LOST_BOUND_MS ? `no Redis connection for ${Math.round(lost / 1000)} s` : null;
    });
  }
}
