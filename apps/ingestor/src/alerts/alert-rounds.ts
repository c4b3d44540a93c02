import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AlertJobName, Jobs, QueueName } from '@dash/domain';
import { InjectQueue, REDIS } from '@dash/infra';
import type { Job, Queue } from 'bullmq';
import type { EventEmitter } from 'node:events';
import { AlertEvaluator } from './alert-evaluator';

/** How often the cluster evaluates every alert (one BullMQ job scheduler, one run per tick). */
export const EVALUATE_EVERY_MS = 1000;
const SCHEDULER_ID = 'alerts-evaluate';
const SCHEDULER_RETRY_MS = 2000;

/**
 * The alert rounds as jobs of the `default` queue: a job scheduler ticking every second for the
 * whole cluster, a round asked for at once when a rule changes, and the job's handler (run by
 * the queue's one worker, DefaultQueueWorker).
 */
@Injectable()
export class AlertRounds implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AlertRounds.name);
  private closing = false;

  /** This capability's jobs on the `default` queue, by name. */
  readonly jobs = {
    [AlertJobName.Evaluate]: async (_job: Job): Promise<null> => {
      await this.evaluator.round();
      return null;
    },
  };

  constructor(
    @Inject(AlertEvaluator) private readonly evaluator: Pick<AlertEvaluator, 'round'>,
    @InjectQueue(QueueName.Default) private readonly rounds: Pick<Queue, 'upsertJobScheduler' | 'add'>,
    /** The producer connection: 'ready' again after a reconnection. */
    @Inject(REDIS) private readonly redis: Pick<EventEmitter, 'on'>,
  ) {}

  private scheduling: Promise<void> | null = null;

  onApplicationBootstrap(): void {
    // Again whenever Redis comes back: a Redis (or a master) that returns empty has lost the
    // scheduler, and alert rounds would stop until a restart. Upserting an existing one changes nothing.
    this.redis.on('ready', () => void this.ensureScheduler());
    void this.ensureScheduler();
  }

  /** One upsert at a time, however often Redis comes back meanwhile. */
  private ensureScheduler(): Promise<void> {
    this.scheduling ??= this.upsertScheduler().finally(() => (this.scheduling = null));
    return this.scheduling;
  }

  /**
   * Every ingestor upserts the same scheduler: BullMQ keeps one, and gives each run to one worker.
   * In the background and retried, so an ingestor starting while Redis is away still starts.
   */
  private async upsertScheduler(): Promise<void> {
    while (!this.closing) {
      try {
        await this.rounds.upsertJobScheduler(SCHEDULER_ID, { every: EVALUATE_EVERY_MS }, { name: AlertJobName.Evaluate, data: {}, opts: Jobs[AlertJobName.Evaluate].options });
        return;
      } catch (error) {
        this.logger.warn(`could not schedule alert rounds (retrying): ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, SCHEDULER_RETRY_MS).unref());
      }
    }
  }

  /** A rule changed: evaluate now rather than at the next tick (one job, however many ingestors ask). */
  async evaluateSoon(): Promise<void> {
    // Removed once done or failed: the next change asks again under the same id.
    await this.rounds.add(AlertJobName.Evaluate, {}, { ...Jobs[AlertJobName.Evaluate].options, jobId: `${SCHEDULER_ID}-now`, removeOnFail: true });
  }

  onApplicationShutdown(): void {
    this.closing = true;
  }
}
