/** An event as accepted by intake and carried through the queue to the writer. */
export interface IngestEvent {
  pipelineId: string;
  /** Sender's id: `webhook-id`, the value at `eventIdPath`, or `{webhook-id}:{index}`. */
  id: string;
  type: string | null;
  /** Epoch milliseconds. */
  occurredAt: number;
  /** Epoch milliseconds. */
  receivedAt: number;
  payload: unknown;
}

/** An event as stored and served by the API. Times are ISO 8601. */
export interface StoredEvent {
  id: string;
  type: string | null;
  occurredAt: string;
  receivedAt: string;
  payload: unknown;
}

export interface PipelineStats {
  pipelineId: string;
  count: number;
  lastEvent: StoredEvent | null;
  lastEventAt: string | null;
  /** Monotonic per pipeline: a client drops any update older than the one it shows. */
  version: number;
}
