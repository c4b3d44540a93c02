import type { Logger } from '@nestjs/common';
import type { AnyJobName, QueueName } from '@dash/domain';
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
  return worker;
}
