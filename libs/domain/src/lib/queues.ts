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
