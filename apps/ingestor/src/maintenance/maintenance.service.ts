import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DASH_CONFIG, PG_POOL, STORAGE_MODE, type DashConfig, type ResolvedStorageMode } from '@dash/infra';
import type { Pool } from 'pg';

const EVERY_MS = 60 * 60 * 1000;
/** Deduplication window: at least the promised 24 hours, with room for slow retries. */
export const DEDUP_WINDOW_HOURS = 72;

/**
 * Hourly upkeep on each ingestor: daily partitions a week ahead and old ones dropped past the
 * retention (native mode), TimescaleDB's retention and compression policies applied from
 * configuration at start, and the deduplication window trimmed. Everything is idempotent and
 * safe to run on several nodes.
 */
@Injectable()
export class MaintenanceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MaintenanceService.name);
  private timer: NodeJS.Timeout | null = null;
  /** TimescaleDB mode: whether the policies are applied, or this node drops chunks itself. */
  private timescalePolicies: 'pending' | 'applied' | 'fallback' = 'pending';

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(STORAGE_MODE) private readonly mode: ResolvedStorageMode,
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
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
      await this.applyRetention();
      await this.pool.query(`DELETE FROM event_ids WHERE received_at < now() - make_interval(hours => $1)`, [DEDUP_WINDOW_HOURS]);
    } catch (error) {
      this.logger.warn(`maintenance: ${(error as Error).message}`);
    }
  }

  private async applyRetention(): Promise<void> {
    const { eventDays, compressAfterDays } = this.config.retention;
    if (this.mode === 'native') {
      if (eventDays === 0) return;
      const { rows } = await this.pool.query<{ dropped: number }>('SELECT dash_drop_old_event_partitions($1) AS dropped', [eventDays]);
      if (rows[0].dropped > 0) this.logger.log(`dropped ${rows[0].dropped} event partitions older than ${eventDays} days`);
      return;
    }
    if (this.timescalePolicies === 'pending') {
      try {
        const { rows } = await this.pool.query<{ applied: string }>('SELECT dash_apply_timescale_policies($1, $2) AS applied', [eventDays, compressAfterDays]);
        this.timescalePolicies = 'applied';
        this.logger.log(`TimescaleDB policies: ${rows[0].applied}`);
      } catch (error) {
        // Apache-licensed builds have no policy jobs: keep the retention by dropping chunks here.
        this.timescalePolicies = 'fallback';
        this.logger.warn(`TimescaleDB policies unavailable (${(error as Error).message}); dropping old chunks from the ingestor instead, without compression`);
      }
    }
    if (this.timescalePolicies === 'fallback' && eventDays > 0) {
      await this.pool.query(`SELECT drop_chunks('events', older_than => make_interval(days => $1))`, [eventDays]);
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
