import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { JobName, MAX_JOB_EVENTS, QueueName, type IngestJobData } from '@dash/domain';
import { Backlog, createWorker, DASH_CONFIG, REDIS_WORKER, RedisKeys, type DashConfig, type RedisClient } from '@dash/infra';
import type { Job, Worker } from 'bullmq';
import { BufferService } from '../buffer/buffer.service';
import { BacklogSweeper } from './backlog-sweeper';

/**
 * Lock and stall settings: a killed ingestor's jobs are taken over within seconds
 * (lock 10 s, stall check every 5 s), while a healthy worker renews its locks every 5 s.
 * A job may stall many times (an ingestor killed repeatedly) without ever being failed for it.
 */
export const INGEST_WORKER_OPTIONS = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 1000 } as const;

/** How often the worker compares what it holds with its high-water mark. */
const BACKPRESSURE_CHECK_MS = 200;
/** How often orphaned backlog counts are looked for (released on the second sighting). */
const SWEEP_MS = 30_000;
/** Jobs taken at once never drop below this, however large they are (one flushes while the next arrives). */
const MIN_CONCURRENCY = 2;

/**
 * Consumes the `pipelines` queue: each ingest job's events go to the buffers, and the job
 * completes only once they are committed.
 */
@Injectable()
export class IngestWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(IngestWorker.name);
  private workers: Array<Worker<IngestJobData>> = [];
  /** Jobs each worker (partition) is working. */
  private active: number[] = [];
  /** Jobs each worker may hold beyond its one: together at most the fitted concurrency less one (see share). */
  private extra: number[] = [];
  private backpressure: NodeJS.Timeout | null = null;
  private sweeping: NodeJS.Timeout | null = null;
  private held = false;
  private closing = false;
  /** Stop fetching jobs at this many events held in memory; fetch again at half of it. */
  private readonly highWater: number;
  /**
   * Events per job, following large jobs at once and small ones slowly: how many jobs fit under
   * the high-water mark. BullMQ fetches jobs before they run, so it starts from the largest
   * job a web node makes and grows the concurrency as jobs prove smaller.
   */
  private jobEvents = MAX_JOB_EVENTS;
  /** Since when the worker's Redis connection has been down (performance.now()), or null while it is up. */
  private redisDownSince: number | null = null;

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly keys: RedisKeys,
    // What the worker asks of the buffers (a unit spec hands a fake that holds events).
    @Inject(BufferService) private readonly buffers: Pick<BufferService, 'add' | 'held' | 'degraded' | 'flushNow' | 'stop'>,
    /** The worker connection (corked in the ingestor: a flush's completions leave in one write). */
    @Inject(REDIS_WORKER) private readonly connection: RedisClient,
    private readonly backlog: Backlog,
    private readonly sweeper: BacklogSweeper,
  ) {
    this.highWater = Math.max(config.buffer.maxItems * config.buffer.partitions, 2 * config.buffer.maxItems);
    this.connection.on('ready', () => (this.redisDownSince = null));
    this.connection.on('close', () => (this.redisDownSince ??= performance.now()));
  }

  /**
   * One worker per partition: every ingestor works every partition. Where the queue of before
   * partitions can exist (not on a cluster), one more worker drains it for good: jobs left there by
   * an upgrade, and those web nodes of the previous release still queue during a rolling deploy
   * (docs/reliability.md). Their backlog counts are released where they were added (`Backlog`).
   */
  onApplicationBootstrap(): void {
    const prefixes = Array.from({ length: this.keys.partitions }, (_, partition) => this.keys.ingestBull(partition));
    if (this.config.redis.topology !== 'cluster') prefixes.push(this.keys.legacyBull);
    this.active = prefixes.map(() => 0);
    this.extra = prefixes.map(() => 0);
    this.workers = prefixes.map((prefix, index) => {
      const worker = createWorker<IngestJobData, void>(QueueName.Pipelines, { [JobName.Ingest]: (job) => this.ingest(job, index) }, {
        connection: this.connection,
        keys: this.keys,
        prefix,
        logger: this.logger,
        concurrency: 1,
        ...INGEST_WORKER_OPTIONS,
      });
      worker.on('failed', (job, error) => this.logger.warn(`job ${job?.id} failed (attempt ${job?.attemptsMade}): ${error.message}`));
      return worker;
    });
    this.backpressure = setInterval(() => this.applyBackpressure(), BACKPRESSURE_CHECK_MS);
    this.backpressure.unref();
    this.sweeping = setInterval(() => void this.sweeper.sweep().catch((error: Error) => this.logger.warn(`backlog sweep: ${error.message}`)), SWEEP_MS);
    this.sweeping.unref();
  }

  /** How long the worker has been without Redis (0 while connected): it can take no job meanwhile. */
  get redisLostMs(): number {
    return this.redisDownSince === null ? 0 : performance.now() - this.redisDownSince;
  }

  /**
   * Memory stays bounded when the database cannot keep up or is away: past the high-water mark,
   * or while flushes wait for the database, the worker fetches no new jobs (they wait in Redis,
   * and web nodes answer 429 once the backlog limit is reached); it fetches again once below
   * half the mark with the database back. Jobs already taken keep their locks and finish.
   */
  private applyBackpressure(): void {
    if (this.workers.length === 0 || this.closing) return;
    const held = this.buffers.held;
    if (!this.held && (held >= this.highWater || this.buffers.degraded)) {
      this.held = true;
      this.logger.warn(`pausing intake: ${held} events held (high-water mark ${this.highWater})${this.buffers.degraded ? ', database unavailable' : ''}`);
      for (const worker of this.workers) worker.pause(true).catch((error: Error) => this.logger.warn(`pause: ${error.message}`));
    } else if (this.held && held <= this.highWater / 2 && !this.buffers.degraded) {
      this.held = false;
      this.logger.log(`resuming intake: ${held} events held`);
      for (const worker of this.workers) worker.resume();
    }
  }

  /**
   * Memory is bounded by events, not only by jobs: `QUEUE_CONCURRENCY` small jobs, but only as many
   * large ones (web nodes coalesce up to 2,000 events a job) as fit under the high-water mark.
   * Otherwise the jobs taken before the next backpressure check could hold several times the mark.
   */
  private fitConcurrency(jobEvents: number): void {
    this.jobEvents = jobEvents >= this.jobEvents ? jobEvents : this.jobEvents + (jobEvents - this.jobEvents) * 0.1;
  }

  /**
   * That figure is one budget for every partition's worker, not one each (17 of them would hold 17
   * times the mark): each worker may hold one job, and the budget less one is shared as extra
   * jobs. A hot pipeline lives in one partition and grows into the whole budget while it is the
   * only busy one; busy partitions share it. Extra jobs are granted from what no worker holds, and
   * a worker gives one back only when one of its jobs ends, before BullMQ fetches again for it
   * (BullMQ fetches up to a worker's concurrency ahead of our handler: a grant taken back at any
   * other moment may still be on its way in, and given to another worker it would hold twice).
   * Called for `worker` as a job of it starts or ends (`ended`).
   */
  private share(worker: number, ended: boolean): void {
    if (ended && this.extra[worker] > 0) this.extra[worker] -= 1;
    const shared = this.fittingConcurrency() - 1;
    let granted = 0;
    let busy = 0;
    for (const [index, extra] of this.extra.entries()) {
      granted += extra;
      if (this.active[index] > 0) busy += 1;
    }
    if (this.active[worker] > 0) {
      const fair = Math.ceil(shared / busy);
      this.extra[worker] += Math.max(0, Math.min(shared - granted, fair - this.extra[worker]));
    }
    const concurrency = 1 + this.extra[worker];
    if (this.workers[worker].concurrency !== concurrency) this.workers[worker].concurrency = concurrency;
  }

  private fittingConcurrency(): number {
    const fit = Math.floor(this.highWater / Math.max(1, this.jobEvents));
    return Math.max(MIN_CONCURRENCY, Math.min(this.config.queues.pipelines, fit));
  }

  private async ingest(job: Job<IngestJobData>, worker: number): Promise<void> {
    this.active[worker] += 1;
    this.fitConcurrency(job.data.events.length);
    this.share(worker, false);
    try {
      await this.buffers.add(job.data.events);
    } finally {
      this.active[worker] -= 1;
      this.share(worker, true);
    }
    // Not awaited: the job completes in the same turn, so a flush's releases and completions
    // leave in one write each. A release that fails is found by the sweeper.
    this.backlog.release(job.id as string).catch((error: Error) => this.logger.warn(`backlog release: ${error.message}`));
  }

  /**
   * SIGTERM, in order: stop taking jobs, flush the buffers (the active jobs complete as their
   * events commit), close the worker, close the queue connection. Redis and the database close
   * after this, in the modules' own shutdown hooks.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    if (this.backpressure) clearInterval(this.backpressure);
    if (this.sweeping) clearInterval(this.sweeping);
    if (this.workers.length === 0) return;
    const active = this.buffers.held;
    const closing = Promise.all(this.workers.map((worker) => worker.close()));
    this.logger.log(`shutdown 1/5: stopped taking jobs (${active} events of active jobs in memory)`);
    // If the database is away, in-flight flushes give up after 10 s so the jobs go back to the queue.
    const timer = setTimeout(() => this.buffers.stop(), 10_000);
    this.buffers.flushNow();
    await waitUntil(() => this.buffers.held === 0, closing);
    this.logger.log(`shutdown 2/5: buffers flushed (${this.buffers.held} events left)`);
    await closing;
    clearTimeout(timer);
    this.logger.log('shutdown 3/5: worker closed, its active jobs completed');
  }
}

/** Resolves when `done()` holds, or when `orElse` settles (whichever comes first). */
async function waitUntil(done: () => boolean, orElse: Promise<unknown>): Promise<void> {
  let settled = false;
  void orElse.finally(() => (settled = true)).catch(() => undefined);
  while (!done() && !settled) await new Promise((resolve) => setTimeout(resolve, 20));
}
