import { CommandPacer, ConcurrencyLimit } from './pacer';

describe(CommandPacer.name, () => {
  afterEach(() => jest.useRealTimers());

  it('lets at most 18 commands out per 1.1 s, in order, however many wait', async () => {
    jest.useFakeTimers();
    const pacer = new CommandPacer();
    const released: Array<[number, number]> = [];
    const start = Date.now();
    const all = Array.from({ length: 50 }, (_, i) => pacer.slot().then(() => void released.push([i, Date.now() - start])));
    await jest.advanceTimersByTimeAsync(5000);
    await Promise.all(all);
    expect(released.map(([i]) => i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // In any window of 1 s, never more than 20 (the server's limit).
    const times = released.map(([, t]) => t);
    for (const t of times) expect(times.filter((other) => other >= t && other < t + 1000).length).toBeLessThanOrEqual(20);
    expect(times.slice(0, 18).every((t) => t === 0)).toBe(true);
  });
});

describe(ConcurrencyLimit.name, () => {
  it('runs at most max tasks at once, all of them, in order, failures included', async () => {
    const limit = new ConcurrencyLimit(3);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const gates: Array<() => void> = [];
    const results = Array.from({ length: 10 }, (_, i) =>
      limit.run(async () => {
        started.push(i);
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running -= 1;
        if (i === 4) throw new Error('four');
        return i;
      }),
    );
    const settled = Promise.allSettled(results);
    // Release the tasks one by one, as the ones started so far finish.
    for (let released = 0; released < 10; released++) {
      await new Promise((resolve) => setImmediate(resolve));
      expect(running).toBeLessThanOrEqual(3);
      gates[released]();
    }
    const outcome = await settled;
    expect(most).toBe(3);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(outcome.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([0, 1, 2, 3, 'four', 5, 6, 7, 8, 9]);
  });
});
