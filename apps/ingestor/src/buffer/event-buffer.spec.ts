import { EventBuffer, type BufferLimits } from './event-buffer';

/** A flush we complete by hand, to see exactly when the buffer starts each one. */
class ManualFlush {
  readonly calls: Array<{ items: number[]; done: () => void; fail: (error: Error) => void }> = [];
  readonly flush = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      this.calls.push({ items, done: resolve, fail: reject });
    });
}

// Two turns of the loop: one for a flush's completion to settle, one for the flush it schedules.
const tick = async () => {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
};
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/** A buffer on fake timers whose first flush (of `first`) has just completed: lingering starts from it. */
async function afterOneFlush(limits: BufferLimits, first: number) {
  jest.useFakeTimers({ doNotFake: ['setImmediate'] });
  const manual = new ManualFlush();
  const buffer = new EventBuffer(manual.flush, limits);
  void buffer.add([first]);
  await tick();
  manual.calls[0].done();
  await tick();
  return { manual, buffer };
}

describe(EventBuffer.name, () => {
  afterEach(() => jest.useRealTimers());

  it('flushes a lone event at once when nothing is being written', async () => {
    const manual = new ManualFlush();
    const buffer = new EventBuffer(manual.flush, { maxItems: 1000, maxWaitMs: 1000 });
    const added = buffer.add([1]);
    await tick();
    expect(manual.calls.map((c) => c.items)).toEqual([[1]]);
    manual.calls[0].done();
    await expect(added).resolves.toBeUndefined();
  });

  it('under load, starts flushes at most every lingerMs: events arriving meanwhile go together', async () => {
    const { manual, buffer } = await afterOneFlush({ maxItems: 1000, maxWaitMs: 1000, lingerMs: 25 }, 1);
    jest.advanceTimersByTime(5);
    void buffer.add([2]);
    void buffer.add([3]);
    await tick();
    expect(manual.calls).toHaveLength(1); // 5 ms after the last flush started: lingering
    jest.advanceTimersByTime(20);
    await tick();
    expect(manual.calls.map((c) => c.items)).toEqual([[1], [2, 3]]);
    manual.calls[1].done();
    await tick();
    jest.advanceTimersByTime(100);
    void buffer.add([4]);
    await tick();
    expect(manual.calls.map((c) => c.items)).toEqual([[1], [2, 3], [4]]); // after a quiet spell: at once
  });

  it('never lingers past maxWaitMs', async () => {
    const { manual, buffer } = await afterOneFlush({ maxItems: 1000, maxWaitMs: 20, lingerMs: 1000 }, 1);
    void buffer.add([2]);
    await tick();
    jest.advanceTimersByTime(19);
    await tick();
    expect(manual.calls).toHaveLength(1);
    jest.advanceTimersByTime(1);
    await tick();
    expect(manual.calls.map((c) => c.items)).toEqual([[1], [2]]);
  });

  it('does not linger once maxItems are waiting', async () => {
    const { manual, buffer } = await afterOneFlush({ maxItems: 10, maxWaitMs: 1000, lingerMs: 1000 }, 0);
    void buffer.add(range(1, 5));
    await tick();
    expect(manual.calls).toHaveLength(1);
    void buffer.add(range(6, 5));
    await tick();
    expect(manual.calls.map((c) => c.items)).toEqual([[0], range(1, 10)]);
  });

  it('gathers events that arrive during a flush and sends them together when it completes', async () => {
    const manual = new ManualFlush();
    const buffer = new EventBuffer(manual.flush, { maxItems: 1000, maxWaitMs: 1000 });
    void buffer.add([1]);
    await tick();
    const second = buffer.add([2, 3]);
    const third = buffer.add([4]);
    await tick();
    expect(manual.calls).toHaveLength(1);
    expect(buffer.size).toBe(3);
    manual.calls[0].done();
    await tick();
    expect(manual.calls.map((c) => c.items)).toEqual([[1], [2, 3, 4]]);
    manual.calls[1].done();
    await expect(Promise.all([second, third])).resolves.toEqual([undefined, undefined]);
  });

  it('starts a second flush when 1000 events are buffered, without waiting for the first', async () => {
    const manual = new ManualFlush();
    const buffer = new EventBuffer(manual.flush, { maxItems: 1000, maxWaitMs: 60_000 });
    void buffer.add([0]);
    await tick();
    void buffer.add(range(1, 999));
    await tick();
    expect(manual.calls).toHaveLength(1);
    void buffer.add([1000]);
    await tick();
    expect(manual.calls).toHaveLength(2);
    expect(manual.calls[1].items).toHaveLength(1000);
  });

  it('flushes after maxWaitMs while another flush is still under way', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const manual = new ManualFlush();
    const buffer = new EventBuffer(manual.flush, { maxItems: 1000, maxWaitMs: 1000 });
    void buffer.add([1]);
    await tick();
    void buffer.add([2]);
    await tick();
    jest.advanceTimersByTime(999);
    expect(manual.calls).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(manual.calls.map((c) => c.items)).toEqual([[1], [2]]);
  });

  it('caps every flush at maxItems, splitting an add that does not fit, and settles an add once all of it is committed', async () => {
    const manual = new ManualFlush();
    const buffer = new EventBuffer(manual.flush, { maxItems: 10, maxWaitMs: 60_000 });
    void buffer.add([0]);
    await tick();
    const settled: string[] = [];
    void buffer.add(range(1, 6)).then(() => settled.push('a'));
    void buffer.add(range(7, 6)).then(() => settled.push('b'));
    void buffer.add(range(13, 25)).then(() => settled.push('c'));
    await tick();
    manual.calls[0].done();
    await tick();
    // 37 waiting: two full flushes in flight at once, the first splitting the second add.
    expect(manual.calls.map((c) => c.items)).toEqual([[0], range(1, 10), range(11, 10)]);
    manual.calls[1].done();
    await tick();
    expect(settled).toEqual(['a']);
    expect(manual.calls.map((c) => c.items)).toEqual([[0], range(1, 10), range(11, 10), range(21, 10)]);
    manual.calls[2].done();
    await tick();
    expect(settled).toEqual(['a', 'b']);
    manual.calls[3].done();
    await tick();
    expect(manual.calls.map((c) => c.items.length)).toEqual([1, 10, 10, 10, 7]);
    expect(settled).toEqual(['a', 'b']);
    manual.calls[4].done();
    await tick();
    expect(settled).toEqual(['a', 'b', 'c']);
    expect(buffer.size).toBe(0);
    expect(buffer.flushing).toBe(0);
  });

  it('rejects a split add with the error of any of its flushes, only once all of them have settled', async () => {
    const manual = new ManualFlush();
    const buffer = new EventBuffer(manual.flush, { maxItems: 10, maxWaitMs: 60_000 });
    let outcome: unknown = 'pending';
    void buffer.add(range(0, 15)).then(
      () => (outcome = 'resolved'),
      (error: Error) => (outcome = error.message),
    );
    await tick();
    expect(manual.calls.map((c) => c.items)).toEqual([range(0, 10)]);
    manual.calls[0].fail(new Error('first part failed'));
    await tick();
    expect(outcome).toBe('pending');
    expect(manual.calls.map((c) => c.items)).toEqual([range(0, 10), range(10, 5)]);
    manual.calls[1].done();
    await tick();
    expect(outcome).toBe('first part failed');
  });

  it('rejects the adds of a failed flush and keeps serving later ones', async () => {
    const manual = new ManualFlush();
    const buffer = new EventBuffer(manual.flush, { maxItems: 1000, maxWaitMs: 1000 });
    const failed = buffer.add([1]);
    await tick();
    manual.calls[0].fail(new Error('database gone'));
    await expect(failed).rejects.toThrow('database gone');
    const next = buffer.add([2]);
    await tick();
    manual.calls[1].done();
    await expect(next).resolves.toBeUndefined();
    expect(buffer.flushing).toBe(0);
  });
});
