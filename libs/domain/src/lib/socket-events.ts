import type { AlertUpdated } from './alerts';
import type { PipelineStats } from './events';

/** Room that receives a pipeline's live updates. */
export const pipelineRoom = (pipelineId: string): string => `pipeline:${pipelineId}`;

export interface DataUpdated extends PipelineStats {
  /** When the ingestor emitted this update (ISO 8601). */
  emittedAt: string;
  /** When the batch that produced this state committed (ISO 8601): web nodes measure `dash_pubsub_latency_seconds` from it. */
  committedAt: string;
}

export type SubscribeAck =
  | { ok: true; stats: PipelineStats }
  | { ok: false; error: 'forbidden' | 'not_found' | 'invalid_request' };

export interface ServerToClientEvents {
  data_updated: (update: DataUpdated) => void;
  alert_updated: (update: AlertUpdated) => void;
}

export interface ClientToServerEvents {
  subscribe: (request: { pipelineId: string }, ack: (result: SubscribeAck) => void) => void;
  unsubscribe: (request: { pipelineId: string }, ack?: (result: { ok: boolean }) => void) => void;
}

export const SocketEvent = {
  DataUpdated: 'data_updated',
  AlertUpdated: 'alert_updated',
  Subscribe: 'subscribe',
  Unsubscribe: 'unsubscribe',
} as const;

/** Handshake failure message for a missing or invalid token. */
export const UNAUTHORIZED = 'unauthorized';
