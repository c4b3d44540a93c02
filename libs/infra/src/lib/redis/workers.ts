import type { Logger } from '@nestjs/common';
import { withTimeout, type AnyJobName, type QueueName } from '@dash/domain';
import { Worker, type Job, type WorkerOptions } from 'bullmq';
import type { RedisKeys } from './keys';
import type { RedisClient } from './redis';
import { dispatchJobs } from './queues.module';

export interface WorkerSettings extends Omit<WorkerOptions, 'connection' | 'prefix'> {
  /** The worker connection (`REDIS_WORKER`: retries forever, as BullMQ asks). */
  connection: RedisClient;
  keys: RedisKeys;
  /** BullMQ's key prefix; by default the control queues' (`keys.bull`). An ingest partition passes its own. */
  prefix?: string;
  logger: Pick<Logger, 'warn' | 'error'>;
}

/**
 * A BullMQ worker for one queue, as every worker of Dash is made: the handlers by job name
 * (`dispatchJobs`: every job of the queue, no other), the deployment's key prefix, and its
 * errors logged (a worker without an `error` listener crashes the process on a Redis error).
 */
export function createWorker<D, R>(queue: QueueName, handlers: Partial<Record<AnyJobName, (job: Job<D, R>) => Promise<R>>>, settings: WorkerSettings): Worker<D, R> {
  const { connection, keys, logger, prefix = keys.bull, ...options } = settings;
  const worker = new Worker<D, R>(queue, dispatchJobs(queue, handlers, logger), { ...options, connection, prefix });
  worker.on('error', (error) => logger.warn(`worker ${prefix}: ${error.message}`));
  boundClose(worker, prefix, logger);
  return worker;
}

/**
 * How long closing a worker may take: its active jobs' own bound (a flush gives up after 10 s)
 * and then some. BullMQ's close ends with QUIT on the worker's blocking connection, which a
 * cluster whose master was killed (and came back as a replica) may never answer, and a stopping
 * ingestor would wait on it forever.
 */
const WORKER_CLOSE_TIMEOUT_MS = 15_000;

/** The parts of a BullMQ worker its close goes through (private in BullMQ's types). */
interface WorkerInternals {
  blockingConnection: { disconnect(wait: boolean): Promise<void> };
  lockManager: { close(): Promise<void> };
  stalledCheckStopper?: () => void;
}

/**
 * A worker's close, bounded (WORKER_CLOSE_TIMEOUT_MS). When the bound gives up, the blocking
 * connection is dropped and the worker's lock renewal (every 7.5 s) and stalled-job check are
 * stopped: BullMQ stops them only once its main loop has ended, which may still be waiting on
 * that connection, and they would go on firing in a process whose apps have all closed.
 */
function boundClose(worker: Worker, prefix: string, logger: Pick<Logger, 'warn'>): void {
  const close = worker.close.bind(worker);
  const internals = worker as unknown as WorkerInternals;
  let closing: Promise<void> | null = null;
  worker.close = (force?: boolean) =>
    (closing ??= withTimeout(close(force), WORKER_CLOSE_TIMEOUT_MS, `closing worker ${prefix}`).catch(async (error: Error) => {
      logger.warn(`${error.message}: its blocking connection is dropped`);
      // BullMQ keeps it to itself; dropped without QUIT, its socket closes at once.
      void internals.blockingConnection.disconnect(false).catch(() => undefined);
      await internals.lockManager.close().catch(() => undefined);
      internals.stalledCheckStopper?.();
    }));
}
