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

/** The windows a live breakdown covers, ending now. */
export const BREAKDOWN_RANGES = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;
export type BreakdownRange = keyof typeof BREAKDOWN_RANGES;

/** A breakdown a socket follows: `where` holds `<path>=<value>` filters on declared dimensions. */
export interface BreakdownRequest {
  by: string;
  measure?: string;
  where?: string[];
  /** Default `24h`. */
  range?: BreakdownRange;
}

/** Breakdowns one socket may follow at once (each is one rollup read per update on its node). */
export const MAX_BREAKDOWN_SUBSCRIPTIONS = 8;

/** The same breakdown, spelled one way: where filters sorted, defaults filled in. */
export function breakdownKey(request: BreakdownRequest): string {
  return JSON.stringify([request.by, request.measure ?? '', [...(request.where ?? [])].sort(), request.range ?? '24h']);
}

/** Room of the sockets following one breakdown of a pipeline. */
export const breakdownRoom = (pipelineId: string, key: string): string => `breakdown:${pipelineId}:${key}`;

/** `breakdown_updated`: a followed breakdown, recomputed from the rollups after new events were stored. */
export interface BreakdownUpdated extends Pick<Breakdown, 'by' | 'from' | 'to' | 'total' | 'items' | 'partial' | 'coveredFrom'> {
  pipelineId: string;
  /** `breakdownKey` of the request it answers. */
  key: string;
  emittedAt: string;
}

/** Sent between nodes (never to browsers): a pipeline's events were stored; nodes with breakdown followers recompute. */
export const PIPELINE_STORED = 'pipeline_stored';

export type SubscribeAck =
  | { ok: true; stats: PipelineStats; /** With a breakdown: the `key` its updates carry. */ breakdownKey?: string }
  | { ok: false; error: 'forbidden' | 'not_found' | 'invalid_request'; message?: string };

export interface ServerToClientEvents {
  data_updated: (update: DataUpdated) => void;
  alert_updated: (update: AlertUpdated) => void;
  failures_updated: (update: FailuresUpdated) => void;
  rejections_updated: (update: RejectionsUpdated) => void;
  breakdown_updated: (update: BreakdownUpdated) => void;
}

export interface ClientToServerEvents {
  /** With `breakdown`, the socket also follows that breakdown (`breakdown_updated`). */
  subscribe: (request: { pipelineId: string; breakdown?: BreakdownRequest }, ack: (result: SubscribeAck) => void) => void;
  /** With `breakdown`, leaves only that breakdown; without, the pipeline and all its breakdowns. */
  unsubscribe: (request: { pipelineId: string; breakdown?: BreakdownRequest }, ack?: (result: { ok: boolean }) => void) => void;
}

export const SocketEvent = {
  DataUpdated: 'data_updated',
  AlertUpdated: 'alert_updated',
  FailuresUpdated: 'failures_updated',
  RejectionsUpdated: 'rejections_updated',
  BreakdownUpdated: 'breakdown_updated',
  Subscribe: 'subscribe',
  Unsubscribe: 'unsubscribe',
} as const;

/** Handshake failure message for a missing or invalid token. */
export const UNAUTHORIZED = 'unauthorized';
