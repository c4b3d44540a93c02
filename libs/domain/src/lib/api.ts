// The REST API's answers, as the server builds them and the dashboard (apps/web/client) reads
// them: one definition, so the two cannot drift. Types only: the browser bundle takes no code
// from here. The OpenAPI document describes the same shapes with zod (apps/web/src/*/*.api.ts).
import type { AlertChannel, AlertCondition, AlertNotificationKind, AlertNotificationStatus, AlertState } from './alerts';
import type { StoredEvent } from './events';
import type { PipelineSource } from './pipeline';

/** The outcome of a poll source's latest poll. */
export interface LastPoll {
  at: string;
  status: 'ok' | 'error';
  /** Items fetched (events stored is at most this: repeats are deduplicated). */
  items: number;
  error: string | null;
  /** The cursor value sent with the next poll, when the source has a cursor. */
  cursor?: string | null;
}

/** A pipeline as `GET /api/pipelines[/:id]` answers it (a poll source's headers redacted for non-admins). */
export interface PipelineView {
  id: string;
  name: string;
  source: PipelineSource;
  eventIdPath: string;
  eventTimePath: string;
  eventTypePath: string;
  /** Declared payload paths the rollups break down by; the event type always is one besides these. */
  dimensions: string[];
  /** Declared numeric payload paths the rollups keep count, sum, min and max of. */
  measures: string[];
  /** On `GET /api/pipelines/:id`: the backfill of paths declared after events were stored. */
  backfill?: BackfillProgress | null;
  webhookPath: string;
  createdAt: string;
  updatedAt: string;
  count: number;
  lastEventAt: string | null;
  lastPoll: LastPoll | null;
}

/** Dimensions and measures declared later, computed over the events already stored, in the background. */
export interface BackfillProgress {
  state: 'running' | 'done';
  dimensions: string[];
  measures: string[];
  /** Events added to the rollups so far, of about `total`. */
  done: number;
  total: number;
  startedAt: string;
  finishedAt: string | null;
}

/** A page of `GET /api/pipelines/:id/events`, newest first; `next` is the cursor for older ones. */
export interface EventPage {
  items: StoredEvent[];
  next: string | null;
  /** A search stopped at its work bound before filling the page: `next` resumes it (more may match further back). */
  partial: boolean;
}

export type SeriesBucket = '1m' | '5m' | '1h' | '1d';

export interface SeriesPoint {
  /** Bucket start, ISO 8601 UTC. */
  t: string;
  count: number;
}

/** `GET /api/pipelines/:id/series`: every bucket of the range, empty ones at 0. */
export interface Series {
  bucket: SeriesBucket;
  from: string;
  to: string;
  points: SeriesPoint[];
}

/** A measure over a set of events: the numbers found at its path, and the other values skipped. */
export interface MeasureSummary {
  count: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  skipped: number;
}

/** `GET /api/pipelines/:id/breakdown`: events by the values of one dimension, largest first, the rest as `(other)`. */
export interface Breakdown {
  by: string;
  from: string;
  to: string;
  total: number;
  items: Array<{ value: string; count: number; share: number; measure?: MeasureSummary }>;
  /** A read filtered by `where` over more stored events than FILTERED_READ_MAX_EVENTS covers only the newest: [coveredFrom, to). */
  partial: boolean;
  coveredFrom?: string;
}

export interface GroupPoint extends SeriesPoint {
  sum?: number | null;
  min?: number | null;
  max?: number | null;
}

/** `GET /api/pipelines/:id/series?groupBy=`: one zero-filled series per top value, plus `(other)`. */
export interface GroupedSeries {
  bucket: SeriesBucket;
  from: string;
  to: string;
  groupBy: string;
  /** Points from `coveredFrom` only where the read is `partial` (see Breakdown). */
  groups: Array<{ value: string; points: GroupPoint[] }>;
  partial: boolean;
  coveredFrom?: string;
}

export interface NotificationView {
  at: string;
  channel: AlertChannel['type'];
  kind: AlertNotificationKind;
  status: AlertNotificationStatus;
  attempts: number;
  error: string | null;
}

/** A channel as a viewer sees it: where it goes is the admin's business. */
export type AlertChannelView = AlertChannel | { type: AlertChannel['type'] };

/** An alert as `GET /api/pipelines/:id/alerts` lists it (with its latest notifications). */
export interface AlertView {
  id: string;
  pipelineId: string;
  name: string;
  condition: AlertCondition;
  channels: AlertChannelView[];
  state: AlertState;
  since: string;
  version: number;
  createdAt: string;
  notifications?: NotificationView[];
}

/** `GET /api/pipelines/:id/alerts`: the alerts, and whether this deployment sends e-mail (SMTP_URL set). */
export interface AlertList {
  items: AlertView[];
  emailAvailable: boolean;
}

/** What an alert is made of: the body of `POST …/alerts` (every field of it optional in `PATCH`). */
export interface AlertInput {
  name: string;
  condition: AlertCondition;
  channels: AlertChannel[];
}

/** One live node of the cluster, as `GET /api/cluster` lists it. */
export interface ClusterNode {
  id: string;
  role: 'web' | 'ingestor';
  region: string;
  startedAt: string;
  lastSeenAt: string;
  rssBytes: number;
  /** Share of one core used since the previous beat. */
  cpu: number;
  sockets?: number;
  queues?: Record<string, number>;
  bufferBacklog?: number;
}

/** One event the database refused, as `GET /api/pipelines/:id/failures` lists it. */
export interface FailureView {
  id: string;
  reason: string;
  attempts: number;
  failedAt: string;
  /** The event as it was accepted (type, times, payload), or null if its record is unreadable. */
  event: { type: string | null; occurredAt: string; receivedAt: string; payload: unknown; payloadTruncated?: boolean } | null;
}

/** `POST /api/pipelines/:id/failures/replay`. */
export interface ReplayResult {
  /** Failures sent through the queue again. */
  replayed: number;
  /** Now stored (or found already stored): removed from the list. */
  stored: number;
  /** Refused again: still listed, with the new reason and one more attempt. */
  failed: number;
  /** Not settled when the answer was given (no ingestor running, or a slow database). */
  pending: number;
}
