/**
 * Every Redis key and channel Dash owns, under one prefix: the one place their names are made.
 *
 * On a Redis Cluster a command (or Lua script, or MULTI, or pipeline of one client) may only touch
 * keys of one slot, so every key carries a hash tag (`{…}`, the part Redis hashes) that puts the
 * keys used together in one slot:
 * - `{c}`, the control keys: the `default` and `mailers` queues, heartbeats, rejections, the 429
 *   set, revocation acks. Low volume; one slot.
 * - `{p0}` … `{pN-1}`, the ingest partitions (`QUEUE_PARTITIONS`): partition n's BullMQ queue and
 *   its share of the backlog (its Lua touches `jobs` and `totals` together, and the count and the
 *   job travel on one connection, in that order). A pipeline always maps to one partition.
 * The prefix stays first, so `<prefix>:*` still finds every key. On one Redis a tag costs nothing
 * but its three characters.
 */
export class RedisKeys {
  constructor(
    readonly prefix: string,
    /** `QUEUE_PARTITIONS`: how many ingest partitions there are. */
    readonly partitions = 16,
  ) {}

  private get control(): string {
    return `${this.prefix}:{c}`;
  }

  /** BullMQ's prefix of the control queues (`default`, `mailers`); the hash tag is in the prefix, as BullMQ asks on a cluster. */
  get bull(): string {
    return `${this.control}:bull`;
  }
  /** BullMQ's prefix of ingest partition `partition`'s `pipelines` queue. */
  ingestBull(partition: number): string {
    return `${this.prefix}:{p${partition}}:bull`;
  }
  /**
   * Before partitions, every queue lived under this un-tagged prefix. A deployment upgraded with jobs
   * still there drains them (docs/reliability.md); never on a cluster, where such keys cannot have worked.
   */
  get legacyBull(): string {
    return `${this.prefix}:bull`;
  }
  /** The partition a pipeline's events travel in: a stable hash of its id (FNV-1a), the same on every node. */
  partitionOf(pipelineId: string): number {
    if (this.partitions === 1) return 0;
    let hash = 0x811c9dc5;
    for (let i = 0; i < pipelineId.length; i++) {
      hash ^= pipelineId.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
    return (hash >>> 0) % this.partitions;
  }

  /** socket.io Redis adapter and emitter channel prefix. */
  get socketio(): string {
    return `${this.prefix}:socket.io`;
  }
  /** Events acknowledged by web nodes and not yet committed by an ingestor, of one partition: `jobs` (job id → shares) and `totals`. */
  backlog(partition: number): { jobs: string; totals: string } {
    const base = `${this.prefix}:{p${partition}}:backlog`;
    return { jobs: `${base}:jobs`, totals: `${base}:totals` };
  }
  /** The backlog of the un-tagged queue before partitions (see `legacyBull`). */
  get legacyBacklog(): { jobs: string; totals: string } {
    return { jobs: `${this.prefix}:backlog:jobs`, totals: `${this.prefix}:backlog:totals` };
  }
  /** The identity of the database this prefix belongs to (see bindKeyPrefix). One key, used alone: no tag, unchanged since before partitions. */
  get owner(): string {
    return `${this.prefix}:owner`;
  }
  /** The web nodes that have forgotten a revoked token (set of node ids; expires). */
  revocationAcks(tokenId: string): string {
    return `${this.control}:revoked:${tokenId}`;
  }

  /** Heartbeats of live nodes (hash: node id → JSON). */
  get nodes(): string {
    return `${this.control}:nodes`;
  }
  /** A pipeline's latest deliveries refused with a 4xx (a capped list, newest first); a node writes many pipelines' in one pipeline. */
  rejections(pipelineId: string): string {
    return `${this.control}:rejections:${pipelineId}`;
  }

  /** Sorted set: pipeline id → when a web node last answered it `429 backlog_full` (the `backlog_full` alert reads it). */
  get backlogRejections(): string {
    return `${this.control}:alerts:backlog-rejections`;
  }
}
