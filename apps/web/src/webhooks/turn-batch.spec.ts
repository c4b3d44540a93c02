import { TurnBatch } from './turn-batch';

describe(TurnBatch.name, () => {
  it("starts a turn's tasks together, in order, once the turn's callbacks are done", async () => {
    const batch = new TurnBatch();
    const log: string[] = [];
    setImmediate(() => log.push('callback queued before the tasks'));
    const results = ['a', 'b', 'c'].map((name) =>
      batch.run(async () => {
        log.push(`start ${name}`);
        return name.toUpperCase();
      }),
    );
    log.push('end of turn');
    expect(await Promise.all(results)).toEqual(['A', 'B', 'C']);
    expect(log).toEqual(['end of turn', 'callback queued before the tasks', 'start a', 'start b', 'start c']);
  });

  it('settles each run with its own outcome: a rejection or a synchronous throw fails only its own', async () => {
    const batch = new TurnBatch();
    const outcomes = await Promise.allSettled([
      batch.run(async () => 1),
      batch.run(() => Promise.reject(new Error('rejected'))),
      batch.run((): Promise<number> => {
        throw new Error('thrown');
      }),
      batch.run(async () => 4),
    ]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([1, 'rejected', 'thrown', 4]);
  });

  it('leaves a task handed over while a batch runs for the next turn', async () => {
    const batch = new TurnBatch();
    const log: string[] = [];
    let second: Promise<unknown> = Promise.resolve();
    await batch.run(async () => {
      log.push('first batch');
      setImmediate(() => log.push('callback queued during the first batch'));
      second = batch.run(async () => log.push('second batch'));
    });
    await second;
    expect(log).toEqual(['first batch', 'callback queued during the first batch', 'second batch']);
    // Nothing is left queued: a later task starts a batch of its own.
    await expect(batch.run(async () => 'later')).resolves.toBe('later');
  });
});
