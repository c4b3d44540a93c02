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
  /** Sorted set: pipeline id → when a web node last answered it `429 backlog_full` (the `backlog_full` alert reads it). */
  get backlogRejections(): string {
    return `${this.prefix}:alerts:backlog-rejections`;
  }
}
