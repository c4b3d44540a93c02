import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DashError } from '@dash/domain';
import type { DashConfig } from '../config/config';
import { DASH_CONFIG } from '../config/config.module';
import { Backlog } from './backlog';

const REFRESH_MS = 100;
/** A pipeline's 429s are noted for the `backlog_full` alert at most this often per web node. */
const REJECTION_NOTE_MS = 1000;

/**
 * Load shedding from the cluster-wide backlog (events queued, not yet committed), read every
 * 100 ms rather than per request. Past `INGEST_MAX_BACKLOG` every pipeline gets 429; a single
 * pipeline holding half of it gets 429 alone, so one flood does not starve the others. Web nodes
 * check it per webhook, ingestors per poll (a flood of polled items is held back alike).
 */
@Injectable()
export class BacklogGate implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BacklogGate.name);
  private readonly max: number;
  private total = 0;
  private byPipeline = new Map<string, number>();
  /** Recent (time, committed) samples, to estimate how fast the backlog drains. */
  private samples: Array<[number, number]> = [];
  private timer: NodeJS.Timeout | null = null;
  /** When this node last noted a 429 per pipeline (cleared when it grows past a bound). */
  private rejectionNoted = new Map<string, number>();

  constructor(
    @Inject(DASH_CONFIG) config: DashConfig,
    // Only its totals are read and its rejections noted: a unit spec hands a fake.
    @Inject(Backlog) private readonly backlog: Pick<Backlog, 'totals' | 'noteRejection'>,
  ) {
    this.max = config.ingest.maxBacklog;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get current(): number {
    return this.total;
  }

  /** Throws 429 backlog_full with a Retry-After estimated from the drain rate. */
  check(pipelineId: string, incoming: number): void {
    const pipelineShare = this.byPipeline.get(pipelineId) ?? 0;
    if (this.total + incoming > this.max && this.total > 0) {
      this.noteRejection(pipelineId);
      throw new DashError(429, 'backlog_full', `${this.total} events are waiting for the database (limit ${this.max}); retry later`, this.retryAfter(this.total - this.max / 2));
    }
    if (pipelineShare + incoming > this.max / 2 && pipelineShare > 0) {
      this.noteRejection(pipelineId);
      throw new DashError(429, 'backlog_full', `this pipeline has ${pipelineShare} events waiting for the database; retry later`, this.retryAfter(pipelineShare - this.max / 4));
    }
  }

  /**
   * Records that a pipeline's sender was turned away, for the `backlog_full` alert: a sorted set
   * of pipeline → last time, written only on the 429 path and at most once a second per pipeline.
   */
  private noteRejection(pipelineId: string): void {
    const now = Date.now();
    if (now - (this.rejectionNoted.get(pipelineId) ?? 0) < REJECTION_NOTE_MS) return;
    if (this.rejectionNoted.size > 10_000) this.rejectionNoted.clear();
    this.rejectionNoted.set(pipelineId, now);
    this.backlog.noteRejection(pipelineId, now).catch((error: Error) => this.logger.debug?.(`backlog rejection note: ${error.message}`));
  }

  private retryAfter(excess: number): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const seconds = first && last && last[0] > first[0] ? (last[0] - first[0]) / 1000 : 0;
    const drainPerSecond = seconds > 0 ? Math.max(0, (last[1] - first[1]) / seconds) : 0;
    const estimate = drainPerSecond > 0 ? Math.ceil(Math.max(excess, 1) / drainPerSecond) : 5;
    return Math.min(Math.max(estimate, 1), 60);
  }

  async refresh(): Promise<void> {
    try {
      const totals = await this.backlog.totals();
      this.total = totals.total;
      this.byPipeline = totals.byPipeline;
      const now = Date.now();
      this.samples.push([now, totals.committed]);
      while (this.samples.length > 0 && now - this.samples[0][0] > 5000) this.samples.shift();
    } catch (error) {
      // Redis away: intake answers 503 by itself; keep the last figures.
      this.logger.debug?.(`backlog refresh: ${(error as Error).message}`);
    }
  }
}
