import { RateLimiter } from './rate-limiter';

describe(RateLimiter.name, () => {
  it('lets a burst of `capacity` through, then asks to wait, refilling at its rate', () => {
    const limiter = new RateLimiter(50, 50, 100);
    const t = 1_000_000;
    const waits = Array.from({ length: 60 }, () => limiter.take('a', t));
    expect(waits.filter((w) => w === 0)).toHaveLength(50);
    expect(waits.slice(50)).toEqual(Array(10).fill(1));
    expect(limiter.take('a', t + 20)).toBe(0); // 20 ms at 50/s: one more
    expect(limiter.take('a', t + 20)).toBe(1);
  });

  it('keeps keys apart', () => {
    const limiter = new RateLimiter(2, 1, 100);
    limiter.take('a', 0);
    limiter.take('a', 0);
    expect(limiter.take('a', 0)).toBe(1);
    expect(limiter.take('b', 0)).toBe(0);
  });

  it('answers the wait in whole seconds for slow rates (30 a minute), without taking', () => {
    const limiter = new RateLimiter(30, 0.5, 100);
    for (let i = 0; i < 30; i++) expect(limiter.take('ip', 0)).toBe(0);
    expect(limiter.wait('ip', 0)).toBe(2);
    expect(limiter.wait('ip', 1000)).toBe(1);
    expect(limiter.wait('ip', 2000)).toBe(0);
    expect(limiter.wait('unknown', 0)).toBe(0);
  });

  it('takes back a refunded one', () => {
    const limiter = new RateLimiter(1, 1, 10);
    expect(limiter.take('a', 0)).toBe(0);
    limiter.refund('a');
    expect(limiter.take('a', 0)).toBe(0);
    expect(limiter.take('a', 0)).toBe(1);
  });

  it('holds at most maxKeys buckets', () => {
    const limiter = new RateLimiter(1, 1, 10);
    for (let i = 0; i < 1000; i++) limiter.take(`k${i}`, 0);
    expect(limiter.size).toBe(10);
  });
});
