import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DimensionsRepository } from '@dash/infra';

/** Pause between two steps: a step reads at most BACKFILL_STEP_EVENTS events, so intake keeps most of the database. */
export const BACKFILL_STEP_PAUSE_MS = 200;

/**
 * Computes dimensions and measures declared after events were stored, over those events, a bounded
 * step at a time (see DimensionsRepository.backfillStep). Any ingestor may run a step; a job's row
 * lock keeps two from running the same step, and its cursor lets the next node resume where a
 * killed one stopped.
 */
@Injectable()
export class BackfillWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BackfillWorker.name);
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly dimensions: DimensionsRepository) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), BACKFILL_STEP_PAUSE_MS);
  }

  /** One step of the oldest job, if any; true when a step ran. */
  async step(): Promise<boolean> {
    const job = await this.dimensions.nextBackfill();
    if (job === null) return false;
    const finished = await this.dimensions.backfillStep(job);
    if (finished) this.logger.log(`backfill ${job} finished`);
    return finished !== null;
  }

  private async tick(): Promise<void> {
    try {
      await this.step();
    } catch (error) {
      this.logger.warn(`backfill step failed (${(error as Error).message}); retrying`);
    } finally {
      this.schedule();
    }
  }
}
