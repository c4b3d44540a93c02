import { GateFull, WorkGate } from './work-gate';

/** Work that ends when told to. */
function pending() {
  let end!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<void>((resolve, reject) => ((end = resolve), (fail = reject)));
  return { promise, end, fail };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe(WorkGate.name, () => {
  it('runs at most atOnce at a time, the next in line as each ends, first come first served', async () => {
    const gate = new WorkGate(2, 3);
    const works = Array.from({ length: 5 }, () => pending());
    const started: number[] = [];
    const runs = works.map((work, i) => gate.run(async () => (started.push(i), await work.promise, i)));
    await settle();
    expect(started).toEqual([0, 1]);
    expect(gate.load).toEqual({ running: 2, waiting: 3 });
    works[1].end();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    works[0].fail(new Error('failed'));
    await expect(runs[0]).rejects.toThrow('failed');
    await settle();
    // A failure frees its place too.
    expect(started).toEqual([0, 1, 2, 3]);
    for (const work of works) work.end();
    expect(await Promise.all(runs.slice(1))).toEqual([1, 2, 3, 4]);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it('refuses a call past the line at once, without running it', async () => {
    const gate = new WorkGate(1, 1);
    const work = pending();
    const first = gate.run(() => work.promise);
    const second = gate.run(async () => 'second');
    let ran = false;
    await expect(gate.run(async () => (ran = true))).rejects.toBeInstanceOf(GateFull);
    expect(ran).toBe(false);
    work.end();
    await first;
    expect(await second).toBe('second');
    // Room again.
    expect(await gate.run(async () => 'third')).toBe('third');
  });

  it('with no bound on the line: runs at most atOnce at a time, all of them, in order, failures included', async () => {
    const limit = new WorkGate(3);
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
