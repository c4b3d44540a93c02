import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { PG_POOL, STORAGE_MODE, type ResolvedStorageMode } from '@dash/infra';
import type { Pool } from 'pg';

const EVERY_MS = 60 * 60 * 1000;
/** Deduplication window: at least the promised 24 hours, with room for slow retries. */
export const DEDUP_WINDOW_HOURS = 72;

/**
 * Hourly upkeep on each ingestor: daily partitions a week ahead (native mode) and the
 * deduplication window trimmed. Both are idempotent and safe to run on several nodes.
 */
@Injectable()
export class MaintenanceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MaintenanceService.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(STORAGE_MODE) private readonly mode: ResolvedStorageMode,
  ) {}

  onApplicationBootstrap(): void {
    void this.run();
    this.timer = setInterval(() => void this.run(), EVERY_MS);
    this.timer.unref();
  }

  async run(): Promise<void> {
    try {
      if (this.mode === 'native') {
        const { rows } = await this.pool.query<{ created: number }>('SELECT dash_ensure_event_partitions(1, 7) AS created');
        if (rows[0].created > 0) this.logger.log(`created ${rows[0].created} event partitions`);
      }
      await this.pool.query(`DELETE FROM event_ids WHERE received_at < now() - make_interval(hours => $1)`, [DEDUP_WINDOW_HOURS]);
    } catch (error) {
      this.logger.warn(`maintenance: ${(error as Error).message}`);
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
