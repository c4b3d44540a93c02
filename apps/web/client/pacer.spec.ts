import { CommandPacer } from './pacer';

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
