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
  backoff?: { type: 'exponential' | 'fixed'; delay: number };
  /** `true`: removed at once; a number: the latest this many are kept. */
  removeOnComplete?: boolean | number;
  removeOnFail?: boolean | number;
}

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
} as const satisfies Record<JobName, { queue: QueueName; options: JobOptions }>;

/** The job names travelling on a queue. */
export function jobNamesOf(queue: QueueName): JobName[] {
  return (Object.keys(Jobs) as JobName[]).filter((name) => Jobs[name].queue === queue);
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
