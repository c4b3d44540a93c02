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
  /** The identity of the database this prefix belongs to (see bindKeyPrefix). */
  get owner(): string {
    return `${this.prefix}:owner`;
  }
  /** The web nodes that have forgotten a revoked token (set of node ids; expires). */
  revocationAcks(tokenId: string): string {
    return `${this.prefix}:revoked:${tokenId}`;
  }

  /** Heartbeats of live nodes (hash: node id → JSON). */
  get nodes(): string {
    return `${this.prefix}:nodes`;
  }
  /** A pipeline's latest deliveries refused with a 4xx (a capped list, newest first). */
  rejections(pipelineId: string): string {
    return `${this.prefix}:rejections:${pipelineId}`;
  }

  /** Sorted set: pipeline id → when a web node last answered it `429 backlog_full` (the `backlog_full` alert reads it). */
  get backlogRejections(): string {
    return `${this.prefix}:alerts:backlog-rejections`;
  }
}
