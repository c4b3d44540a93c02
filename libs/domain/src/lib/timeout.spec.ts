import { withTimeout } from './timeout';

describe(withTimeout.name, () => {
  afterEach(() => jest.useRealTimers());

  it('answers what the promise answers, and its rejection as it is', async () => {
    await expect(withTimeout(Promise.resolve(7), 1000, 'work')).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('broken')), 1000, 'work')).rejects.toThrow('broken');
  });

  it('rejects naming the work once the time passes first', async () => {
    jest.useFakeTimers();
    const pending = withTimeout(new Promise<never>(() => undefined), 2000, 'announce (Redis)');
    const outcome = expect(pending).rejects.toThrow('announce (Redis): no answer in 2000 ms');
    jest.advanceTimersByTime(2000);
    await outcome;
  });

  it('leaves no timer behind once the promise settles', async () => {
    jest.useFakeTimers();
    await withTimeout(Promise.resolve('done'), 60_000, 'work');
    expect(jest.getTimerCount()).toBe(0);
  });
});
