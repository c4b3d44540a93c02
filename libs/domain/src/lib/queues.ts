import { ALERT_DELIVERY_ATTEMPTS, AlertJobName } from './alerts';
import type { IngestEvent } from './events';

/** BullMQ queues. Their concurrency on an ingestor comes from `QUEUE_CONCURRENCY`. */
export const QueueName = {
  /** Scheduled polls of HTTP sources. */
  Default: 'default',
  /** Ingest jobs: events on their way to the database. */
  Pipelines: 'pipelines',
  /** Alert e-mails. */
  Mailers: 'mailers',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const JobName = {
  Ingest: 'ingest',
  Poll: 'poll',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** The options a job is queued with (a subset of BullMQ's `JobsOptions`; this library stays free of BullMQ). */
export interface JobOptions {
  attempts?: number;
  /** `delay` is the first retry's; `jitter` (0–1) spreads retries of many jobs apart. */
  backoff?: { type: 'exponential' | 'fixed'; delay: number; jitter?: number };
  /** `true`: removed at once; a number: the latest this many are kept; `age`: kept this many seconds. */
  removeOnComplete?: boolean | number | { age: number };
  removeOnFail?: boolean | number | { age: number };
}

/** Every job name, of every queue. */
export type AnyJobName = JobName | AlertJobName;

/**
 * Every job: the queue it travels on and the options it is queued with. Producers queue with these
 * options, and a worker takes only the job names listed here for its queue (`jobNamesOf`).
 */
export const Jobs = {
  /** Retried with backoff for about two hours if an ingestor fails it; kept once failed for good. */
  [JobName.Ingest]: {
    queue: QueueName.Pipelines,
    options: { attempts: 15, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: true, removeOnFail: false },
  },
  /** A poll asked for now keeps its outcome a while (its requester reads it back). */
  [JobName.Poll]: {
    queue: QueueName.Default,
    options: { removeOnComplete: 100, removeOnFail: 100 },
  },
  /** One evaluation round of every alert rule (a scheduler's tick, or asked for now). */
  [AlertJobName.Evaluate]: {
    queue: QueueName.Default,
    options: { removeOnComplete: true, removeOnFail: 10 },
  },
  /**
   * One notification through its channel: retried with backoff and jitter (the first delay is
   * `ALERT_RETRY_BASE_MS`, set by the producer); kept an hour once sent, a week once failed.
   */
  [AlertJobName.Deliver]: {
    queue: QueueName.Mailers,
    options: { attempts: ALERT_DELIVERY_ATTEMPTS, backoff: { type: 'exponential', delay: 5000, jitter: 0.5 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 7 * 86_400 } },
  },
} as const satisfies Record<AnyJobName, { queue: QueueName; options: JobOptions }>;

/** The job names travelling on a queue. */
export function jobNamesOf(queue: QueueName): AnyJobName[] {
  return (Object.keys(Jobs) as AnyJobName[]).filter((name) => Jobs[name].queue === queue);
}

/**
 * Web nodes close a job once it holds this many events (a job may pass it by the last request's
 * events, at most one batch). Ingestors size their concurrency by it before they know better.
 */
export const MAX_JOB_EVENTS = 2000;

/** One ingest job carries the events of one or more webhook requests, coalesced by the web node. */
export interface IngestJobData {
  events: IngestEvent[];
}

export interface PollJobData {
  pipelineId: string;
}
