import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DimensionsRepository } from '@dash/infra';

/** The shortest pause between two steps (a step reads at most BACKFILL_STEP_EVENTS events). */
export const BACKFILL_STEP_PAUSE_MS = 200;
/**
 * The share of its time a node spends in backfill steps. A step's cost depends on the payloads and
 * the paths declared (a 4-dimension, 2-measure step of 2,000 orders took ~150 ms of PostgreSQL
 * CPU); pausing nine times a step's duration bounds a backfill to about a tenth of a database core
 * per ingestor, so intake goes on beside it (docs/performance.md).
 */
export const BACKFILL_DUTY = 0.1;

/** The pause after a step that took `stepMs`. */
export const pauseAfter = (stepMs: number): number => Math.max(BACKFILL_STEP_PAUSE_MS, Math.round(stepMs * (1 / BACKFILL_DUTY - 1)));

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

  private schedule(pauseMs = BACKFILL_STEP_PAUSE_MS): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), pauseMs);
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
    const started = performance.now();
    try {
      await this.step();
    } catch (error) {
      this.logger.warn(`backfill step failed (${(error as Error).message}); retrying`);
    } finally {
      this.schedule(pauseAfter(performance.now() - started));
    }
  }
}
