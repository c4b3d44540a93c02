import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DashError, JobName, Jobs, QueueName, withTimeout, type PollJobData } from '@dash/domain';
import { InjectQueue, PipelinesRepository, REDIS_PRODUCER, REDIS_WORKER, RedisKeys, type LastPoll, type PipelineEntity } from '@dash/infra';
import { QueueEvents, type Queue } from 'bullmq';
import type { RedisClient } from '@dash/infra';

const RUN_NOW_TIMEOUT_MS = 30_000;
/** A schedule change Redis has not confirmed by then is given up (503 or left to reconciliation). */
export const SCHEDULE_TIMEOUT_MS = 3000;
export const REDIS_RETRY_AFTER_SECONDS = 5;
const SCHEDULER_PREFIX = 'poll:';
const schedulerId = (pipelineId: string) => `${SCHEDULER_PREFIX}${pipelineId}`;

/** 503 unavailable with Retry-After: the change needs Redis, which does not answer. */
export function redisUnavailable(what: string): DashError {
  return new DashError(503, 'unavailable', `${what}: Redis is unavailable, nothing was changed; retry later`, REDIS_RETRY_AFTER_SECONDS);
}

/**
 * Poll sources run as BullMQ job schedulers on the `default` queue, one per pipeline, kept in
 * step with the pipeline by the web node that changes it. Ingestors run the polls.
 */
@Injectable()
export class PollScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PollScheduler.name);
  private events: QueueEvents | null = null;
  private reconciling: Promise<void> | null = null;
  /** Called after a reconnect (changes announced meanwhile were missed): the pipeline caches drop their entries. */
  private readonly reconnectListeners: Array<() => void> = [];
  private wasReady = false;
  private stopped = false;

  constructor(
    private readonly keys: RedisKeys,
    private readonly pipelines: PipelinesRepository,
    /** The `default` queue's producer connection: its reconnects trigger reconciliation. */
    @Inject(REDIS_PRODUCER) private readonly connection: RedisClient,
    /** QueueEvents blocks on a duplicate of this connection, which it closes itself. */
    @Inject(REDIS_WORKER) private readonly worker: RedisClient,
    @InjectQueue(QueueName.Default) private readonly queue: Queue<PollJobData>,
  ) {}

  /**
   * The database is the truth; the schedules in Redis follow it. A change made while Redis was away
   * (or lost with it) is put right at boot and whenever Redis comes back.
   */
  onApplicationBootstrap(): void {
    this.connection.on('ready', () => {
      const reconnect = this.wasReady;
      this.wasReady = true;
      if (reconnect) for (const listener of this.reconnectListeners) listener();
      void this.reconcile();
    });
    if (this.connection.status === 'ready') {
      this.wasReady = true;
      void this.reconcile();
    }
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /** True while Redis answers this node: a change that needs it can be made whole. */
  get available(): boolean {
    return this.connection.status === 'ready';
  }

  /**
   * Makes the poll schedules match the database: one for each poll pipeline (at its interval), none
   * for a pipeline that is gone or no longer polls. Schedulers are listed before the pipelines are
   * read, and a pipeline is committed before its schedule is set, so a scheduler listed here whose
   * pipeline is not read is really an orphan.
   */
  reconcile(): Promise<void> {
    this.reconciling ??= this.reconcileOnce().finally(() => (this.reconciling = null));
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    if (this.stopped) return;
    try {
      const schedulers = await withTimeout(this.queue.getJobSchedulers(0, -1), SCHEDULE_TIMEOUT_MS * 3, 'list poll schedules (Redis)');
      const rows = await this.pipelines.pollSources();
      const wanted = new Map(rows.map((row) => [row.id, row.source.type === 'poll' ? row.source.intervalSeconds * 1000 : 0]));
      let changed = 0;
      for (const scheduler of schedulers) {
        const key = scheduler.key ?? scheduler.id ?? '';
        if (!key.startsWith(SCHEDULER_PREFIX)) continue;
        const pipelineId = key.slice(SCHEDULER_PREFIX.length);
        const every = wanted.get(pipelineId);
        if (every === undefined) {
          await withTimeout(this.queue.removeJobScheduler(key), SCHEDULE_TIMEOUT_MS, 'remove a poll schedule (Redis)');
          changed += 1;
        } else if (Number(scheduler.every) === every) wanted.delete(pipelineId);
      }
      for (const [pipelineId, every] of wanted) {
        await withTimeout(this.upsert(pipelineId, every), SCHEDULE_TIMEOUT_MS, 'set a poll schedule (Redis)');
        changed += 1;
      }
      if (changed > 0) this.logger.log(`poll schedules reconciled with the database: ${changed} changed`);
    } catch (error) {
      // Redis or the database away: the next reconnect (or boot) tries again.
      this.logger.warn(`poll schedules not reconciled: ${(error as Error).message}`);
    }
  }

  private upsert(pipelineId: string, every: number) {
    // A scheduled poll's outcome is read from the pipeline, not from the job: none is kept once done.
    return this.queue.upsertJobScheduler(schedulerId(pipelineId), { every }, { name: JobName.Poll, data: { pipelineId }, opts: { ...Jobs[JobName.Poll].options, removeOnComplete: true } });
  }

  /** Starts, changes or stops the schedule to match the pipeline's source. */
  async sync(pipeline: PipelineEntity): Promise<void> {
    if (pipeline.source.type !== 'poll') {
      await this.unschedule(pipeline.id);
      return;
    }
    await withTimeout(this.upsert(pipeline.id, pipeline.source.intervalSeconds * 1000), SCHEDULE_TIMEOUT_MS, 'set the poll schedule (Redis)');
  }

  async unschedule(pipelineId: string): Promise<void> {
    await withTimeout(this.queue.removeJobScheduler(schedulerId(pipelineId)), SCHEDULE_TIMEOUT_MS, 'remove the poll schedule (Redis)');
  }

  /** Runs one poll now on an ingestor and answers with its outcome. */
  async runNow(pipelineId: string): Promise<LastPoll> {
    if (!this.events) {
      this.events = new QueueEvents(QueueName.Default, { connection: this.worker, prefix: this.keys.bull });
      this.events.on('error', (error) => this.logger.warn(`queue events: ${error.message}`));
    }
    await this.events.waitUntilReady();
    const job = await this.queue.add(JobName.Poll, { pipelineId }, Jobs[JobName.Poll].options);
    try {
      const result = (await job.waitUntilFinished(this.events, RUN_NOW_TIMEOUT_MS)) as LastPoll | null;
      if (!result) throw new DashError(400, 'invalid_request', 'this pipeline has no poll source');
      return result;
    } catch (error) {
      if (error instanceof DashError) throw error;
      throw new DashError(503, 'unavailable', `no ingestor finished the poll: ${(error as Error).message}`, 5);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.events?.close().catch(() => undefined);
  }
}
