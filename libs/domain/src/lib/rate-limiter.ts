import { LruCache } from './lru-cache';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets by key (a token id, a client address): `capacity` at once, refilled at `perSecond`.
 * Held in a bounded LRU, so keys a client can choose cost at most `maxKeys` entries; a key pushed
 * out starts again full (whoever can push out `maxKeys` keys is already spread thin).
 */
export class RateLimiter {
  private readonly buckets: LruCache<string, Bucket>;

  constructor(
    readonly capacity: number,
    readonly perSecond: number,
    maxKeys: number,
  ) {
    this.buckets = new LruCache(maxKeys);
  }

  /** Seconds until `key` may go again (at least 1), or 0 when it may now; nothing is taken. */
  wait(key: string, now = Date.now()): number {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return 0;
    this.refill(bucket, now);
    return this.waitOf(bucket);
  }

  /** Takes one for `key`: 0 when it was there, else the seconds to wait (and nothing is taken). */
  take(key: string, now = Date.now()): number {
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    this.refill(bucket, now);
    const wait = this.waitOf(bucket);
    if (wait === 0) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return wait;
  }

  /** Gives back one taken by `take` (a reservation that turned out not to count). */
  refund(key: string): void {
    const bucket = this.buckets.get(key);
    if (bucket !== undefined) bucket.tokens = Math.min(this.capacity, bucket.tokens + 1);
  }

  get size(): number {
    return this.buckets.size;
  }

  private refill(bucket: Bucket, now: number): void {
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
  }

  private waitOf(bucket: Bucket): number {
    return bucket.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }
}
