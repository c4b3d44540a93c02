import { LruCache } from './lru-cache';

describe(LruCache.name, () => {
  it('never holds more than maxEntries', () => {
    const cache = new LruCache<number, number>(100);
    for (let i = 0; i < 10_000; i += 1) cache.set(i, i);
    expect(cache.size).toBe(100);
    // The newest ones stay, the oldest ones went.
    expect(cache.get(9_999)).toBe(9_999);
    expect(cache.get(9_900)).toBe(9_900);
    expect(cache.get(9_899)).toBeUndefined();
    expect(cache.get(0)).toBeUndefined();
  });

  it('evicts the least recently used entry, not everything, at the cap', () => {
    const cache = new LruCache<string, string>(3);
    cache.set('a', 'A').set('b', 'B').set('c', 'C');
    expect(cache.get('a')).toBe('A'); // a is now the most recently used
    cache.set('d', 'D');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    expect(cache.get('c')).toBe('C');
    expect(cache.get('d')).toBe('D');
    expect(cache.size).toBe(3);
  });

  it('replaces a value without growing, and delete and clear remove entries', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1).set('a', 2);
    expect(cache.size).toBe(1);
    expect(cache.get('a')).toBe(2);
    cache.set('b', 3);
    expect(cache.delete('a')).toBe(true);
    expect(cache.delete('a')).toBe(false);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('b')).toBeUndefined();
  });

  it('keeps a stored falsy value distinct from a miss', () => {
    const cache = new LruCache<string, number | null>(2);
    cache.set('zero', 0).set('none', null);
    expect(cache.get('zero')).toBe(0);
    expect(cache.get('none')).toBeNull();
    expect(cache.has('none')).toBe(true);
    expect(cache.has('missing')).toBe(false);
  });

  it('refuses a cap below one', () => {
    expect(() => new LruCache(0)).toThrow(RangeError);
  });
});
