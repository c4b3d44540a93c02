/** Every Redis key and channel Dash owns, under one prefix. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** BullMQ's own key prefix. */
  get bull(): string {
    return `${this.prefix}:bull`;
  }
  /** socket.io Redis adapter and emitter channel prefix. */
  get socketio(): string {
    return `${this.prefix}:socket.io`;
  }
  /** Events acknowledged by web nodes and not yet committed by an ingestor. */
  get backlog(): string {
    return `${this.prefix}:backlog`;
  }
  /** Heartbeats of live nodes (hash: node id → JSON). */
  get nodes(): string {
    return `${this.prefix}:nodes`;
  }
  /** A pipeline's latest deliveries refused with a 4xx (a capped list, newest first). */
  rejections(pipelineId: string): string {
    return `${this.prefix}:rejections:${pipelineId}`;
  }
}
