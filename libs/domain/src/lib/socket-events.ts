import type { AlertUpdated } from './alerts';
import type { Breakdown } from './api';
import type { PipelineStats } from './events';

/** Room that receives a pipeline's live updates. */
export const pipelineRoom = (pipelineId: string): string => `pipeline:${pipelineId}`;

export interface DataUpdated extends PipelineStats {
  /** When the ingestor emitted this update (ISO 8601). */
  emittedAt: string;
  /** When the batch that produced this state committed (ISO 8601): web nodes measure `dash_pubsub_latency_seconds` from it. */
  committedAt: string;
}

/** `failures_updated`: the room's pipeline recorded or discarded failures; read `GET …/failures` again. */
export interface FailuresUpdated {
  pipelineId: string;
}

/** `rejections_updated`: a delivery to the room's pipeline was refused; read `GET …/rejections` again. */
export interface RejectionsUpdated {
  pipelineId: string;
}

/** Those two are sent at most this often per pipeline: a flood of refusals is not a flood of socket messages. */
export const LIST_NOTICE_INTERVAL_MS = 1000;

/** A breakdown a socket asks to follow live: of the last 24 hours, the top 10 values. */
export interface BreakdownSubscription {
  by: string;
  measure?: string;
  /** `<dimension>=<value>` filters, as in the API's `where`. */
  where?: string[];
}

/** `breakdown_updated`: the breakdown a socket subscribed to, after events were stored. */
export interface BreakdownUpdated {
  pipelineId: string;
  by: string;
  items: Breakdown['items'];
  emittedAt: string;
}

export type SubscribeAck =
  | { ok: true; stats: PipelineStats; breakdown?: Breakdown }
  | { ok: false; error: 'forbidden' | 'not_found' | 'invalid_request' };

export interface ServerToClientEvents {
  data_updated: (update: DataUpdated) => void;
  alert_updated: (update: AlertUpdated) => void;
  failures_updated: (update: FailuresUpdated) => void;
  rejections_updated: (update: RejectionsUpdated) => void;
  breakdown_updated: (update: BreakdownUpdated) => void;
}

/** Between Dash's nodes (socket.io's server-side emit): an ingestor tells the web nodes a pipeline stored events. */
export interface InterServerEvents {
  events_stored: (pipelineId: string) => void;
}

export interface ClientToServerEvents {
  subscribe: (request: { pipelineId: string; breakdown?: BreakdownSubscription }, ack: (result: SubscribeAck) => void) => void;
  unsubscribe: (request: { pipelineId: string }, ack?: (result: { ok: boolean }) => void) => void;
}

export const SocketEvent = {
  DataUpdated: 'data_updated',
  AlertUpdated: 'alert_updated',
  FailuresUpdated: 'failures_updated',
  RejectionsUpdated: 'rejections_updated',
  BreakdownUpdated: 'breakdown_updated',
  EventsStored: 'events_stored',
  Subscribe: 'subscribe',
  Unsubscribe: 'unsubscribe',
} as const;

/** Handshake failure message for a missing or invalid token. */
export const UNAUTHORIZED = 'unauthorized';
