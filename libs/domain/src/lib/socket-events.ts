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
  BreakdownUpdated: 'breakdown_updated',
  EventsStored: 'events_stored',
  Subscribe: 'subscribe',
  Unsubscribe: 'unsubscribe',
} as const;

/** Handshake failure message for a missing or invalid token. */
export const UNAUTHORIZED = 'unauthorized';
