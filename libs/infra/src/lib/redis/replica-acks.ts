import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './redis';

/**
 * The Redis Cluster slot of a key (CRC16/XMODEM of its hash tag, or of the whole key), as Redis
 * and ioredis compute it.
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** What ioredis' Cluster keeps of its nodes (not in its typings): one connection per node. */
interface ClusterInternals {
  connectionPool: { getInstanceByKey(key: string): Redis | undefined };
}

/** How long a WAIT waits for the replicas: within the bounded wait of a webhook during a failover (at most 10 s with the enqueue). */
export const REPLICA_ACK_TIMEOUT_MS = 3000;

/** The replicas did not confirm in time: the writes may still be lost with their master. */
export class ReplicasNotConfirmedError extends Error {
  constructor(readonly reached: number, readonly wanted: number, timeoutMs: number) {
    super(`${reached} of ${wanted} replicas confirmed the writes within ${timeoutMs} ms (REDIS_ACK_REPLICAS)`);
    this.name = 'ReplicasNotConfirmedError';
  }
}

/**
 * `REDIS_ACK_REPLICAS`: waits until that many replicas hold what a connection has written, with
 * Redis `WAIT`. One WAIT covers every write its connection sent before it, so the callers of one
 * turn of the event loop share one WAIT per connection. On a cluster it goes to the connection of
 * the master holding the key's slot, the one the write went through.
 */
export class ReplicaAcks {
  private pending = new Map<Redis, Array<{ resolve: () => void; reject: (error: Error) => void }>>();
  private scheduled = false;

  constructor(
    private readonly client: RedisClient,
    readonly replicas: number,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves once `replicas` replicas hold every write sent so far on the connection that serves `key`; rejects if not within the timeout. */
  confirm(key: string): Promise<void> {
    if (this.replicas === 0) return Promise.resolve();
    const connection = this.connectionOf(key);
    if (!connection) return Promise.reject(new Error(`no Redis node holds the slot of ${key}`));
    return new Promise<void>((resolve, reject) => {
      const waiters = this.pending.get(connection);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(connection, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private connectionOf(key: string): Redis | undefined {
    if (!(this.client instanceof Cluster)) return this.client;
    const node = this.client.slots[keySlot(key)]?.[0];
    return node ? (this.client as unknown as ClusterInternals).connectionPool.getInstanceByKey(node) : undefined;
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [connection, waiters] of pending) {
      connection.call('WAIT', this.replicas, this.timeoutMs).then(
        (reached) => {
          const error = Number(reached) >= this.replicas ? null : new ReplicasNotConfirmedError(Number(reached), this.replicas, this.timeoutMs);
          for (const waiter of waiters) {
            if (error) waiter.reject(error);
            else waiter.resolve();
          }
        },
        (error: Error) => {
          for (const waiter of waiters) waiter.reject(error);
        },
      );
    }
  };
}
