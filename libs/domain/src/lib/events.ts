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
  /**
   * The event's JSON text (one object), as sent where it can be: carried as text through the
   * queue and written as is, so it is parsed by the web (to validate and read its paths) and by
   * the database, and never re-serialised in between.
   */
  payloadJson: string;
}

/**
 * The event as one JSON object, its payload inline: a row of the writer's batch parameter and the
 * record of a failed event. Built by concatenation: the payload text is not parsed again.
 */
export function eventRecordJson(event: IngestEvent): string {
  return (
    `{"pipelineId":${JSON.stringify(event.pipelineId)},"id":${JSON.stringify(event.id)},"type":${JSON.stringify(event.type)},` +
    `"occurredAt":${event.occurredAt},"receivedAt":${event.receivedAt},"payload":${event.payloadJson}}`
  );
}

/** An event as stored and served by the API. Times are ISO 8601. */
export interface StoredEvent {
  id: string;
  type: string | null;
  occurredAt: string;
  receivedAt: string;
  /** `null` with `payloadTruncated` where it is too big or too deep to send here (see MAX_LIVE_PAYLOAD_BYTES). */
  payload: unknown;
  payloadTruncated?: true;
  /** The payload's size as JSON text, where it was left out for its size. */
  payloadBytes?: number;
}

export interface PipelineStats {
  pipelineId: string;
  count: number;
  lastEvent: StoredEvent | null;
  lastEventAt: string | null;
  /** Monotonic per pipeline: a client drops any update older than the one it shows. */
  version: number;
}
