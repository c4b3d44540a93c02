/**
 * A bounded map that forgets the least recently used entry when full, so a cache keyed by
 * anything a client can choose (ids, tokens, file names) holds at most `maxEntries`.
 * Relies on Map keeping insertion order: a read moves the entry to the end, and the
 * first key is the least recently used one.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('LruCache needs maxEntries >= 1');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, marked as just used; `undefined` when absent. */
  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const value = this.entries.get(key) as V;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** Whether the key is present, without marking it as used. */
  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Stores the value as the most recently used, evicting the least recently used entry when full. */
  set(key: K, value: V): this {
    if (this.entries.has(key)) this.entries.delete(key);
    else if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  keys(): IterableIterator<K> {
    return this.entries.keys();
  }
}
