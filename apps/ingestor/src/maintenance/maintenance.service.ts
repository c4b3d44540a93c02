import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DASH_CONFIG, DedupRepository, DimensionsRepository, StorageRepository, type DashConfig } from '@dash/infra';

const EVERY_MS = 60 * 60 * 1000;
/** The dimension rollups' closed blocks are made this often (a block is read from its hours until then). */
export const CLOSE_ROLLUPS_EVERY_MS = 5 * 60 * 1000;
/** Deduplication window: at least the promised 24 hours, with room for slow retries. */
export const DEDUP_WINDOW_HOURS = 72;
/**
 * The values a dimension admitted per hour are kept this long: a late event within it lands on the
 * hour's own admissions; one later may admit values afresh in an hour that was full.
 */
export const ADMITTED_VALUES_DAYS = 8;

/**
 * Hourly upkeep on each ingestor: daily partitions a week ahead and old ones dropped past the
 * retention (native mode), TimescaleDB's retention and compression policies applied from
 * configuration at start, the deduplication window and the dimensions' admitted values trimmed;
 * and every CLOSE_ROLLUPS_EVERY_MS the dimension rollups' closed 6-hour blocks made from their
 * hours (and the days and weeks they complete). Everything is idempotent and safe to run on
 * several nodes.
 */
@Injectable()
export class MaintenanceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MaintenanceService.name);
  private timer: NodeJS.Timeout | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  /** A close in progress (a slow one is not started again beside itself). */
  private closing: Promise<void> | null = null;
  /** TimescaleDB mode: whether the policies are applied, or this node drops chunks itself. */
  private timescalePolicies: 'pending' | 'applied' | 'fallback' = 'pending';

  constructor(
    private readonly storage: StorageRepository,
    private readonly dedup: DedupRepository,
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    @Optional() private readonly dimensions?: DimensionsRepository,
  ) {}

  onApplicationBootstrap(): void {
    void this.run();
    this.timer = setInterval(() => void this.run(), EVERY_MS);
    this.timer.unref();
    this.closeTimer = setInterval(() => void this.closeRollups(), CLOSE_ROLLUPS_EVERY_MS);
    this.closeTimer.unref();
  }

  /** Closes the blocks that ended (DimensionsRepository.compactRollups); once at a time on this node. */
  closeRollups(): Promise<void> {
    this.closing ??= (async () => {
      try {
        const blocks = (await this.dimensions?.compactRollups()) ?? 0;
        if (blocks > 0) this.logger.log(`closed the dimension rollups of ${blocks} 6-hour blocks (their rows made from their hours, and the days and weeks they complete)`);
      } catch (error) {
        this.logger.warn(`closing dimension rollups: ${(error as Error).message}`);
      } finally {
        this.closing = null;
      }
    })();
    return this.closing;
  }

  async run(): Promise<void> {
    try {
      const created = await this.storage.ensurePartitions();
      if (created > 0) this.logger.log(`created ${created} event partitions`);
      await this.applyRetention();
      await this.dedup.trimOlderThan(DEDUP_WINDOW_HOURS);
      await this.dimensions?.trimAdmittedValues(ADMITTED_VALUES_DAYS);
      await this.closeRollups();
    } catch (error) {
      this.logger.warn(`maintenance: ${(error as Error).message}`);
    }
  }

  private async applyRetention(): Promise<void> {
    const { eventDays, compressAfterDays } = this.config.retention;
    if (!this.storage.usesPolicyJobs) {
      if (eventDays === 0) return;
      const dropped = await this.storage.dropOldPartitions(eventDays);
      if (dropped > 0) this.logger.log(`dropped ${dropped} event partitions older than ${eventDays} days`);
      return;
    }
    if (this.timescalePolicies === 'pending') {
      try {
        const applied = await this.storage.applyTimescalePolicies(eventDays, compressAfterDays);
        this.timescalePolicies = 'applied';
        this.logger.log(`TimescaleDB policies: ${applied}`);
      } catch (error) {
        // Apache-licensed builds have no policy jobs: keep the retention by dropping chunks here.
        this.timescalePolicies = 'fallback';
        this.logger.warn(`TimescaleDB policies unavailable (${(error as Error).message}); dropping old chunks from the ingestor instead, without compression`);
      }
    }
    if (this.timescalePolicies === 'fallback' && eventDays > 0) {
      await this.storage.dropOldChunks(eventDays);
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.closeTimer) clearInterval(this.closeTimer);
  }
}
