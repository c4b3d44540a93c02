import { KeyedThrottle } from './keyed-throttle';

describe('KeyedThrottle', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs the first offer at once and folds a flood into one run per interval, the last one kept', () => {
    const runs: string[] = [];
    const throttle = new KeyedThrottle(1000, (key) => runs.push(key));
    throttle.offer('a');
    expect(runs).toEqual(['a']);
    for (let i = 0; i < 500; i++) throttle.offer('a');
    expect(runs).toEqual(['a']);
    jest.advanceTimersByTime(999);
    expect(runs).toEqual(['a']);
    jest.advanceTimersByTime(1);
    expect(runs).toEqual(['a', 'a']);
    // Nothing more was offered: nothing more runs.
    jest.advanceTimersByTime(5000);
    expect(runs).toEqual(['a', 'a']);
  });

  it('keeps keys apart and runs again at once after a quiet interval', () => {
    const runs: string[] = [];
    const throttle = new KeyedThrottle(1000, (key) => runs.push(key));
    throttle.offer('a');
    throttle.offer('b');
    throttle.offer('a');
    expect(runs).toEqual(['a', 'b']);
    jest.advanceTimersByTime(1000);
    expect(runs).toEqual(['a', 'b', 'a']);
    jest.advanceTimersByTime(3000);
    throttle.offer('b');
    expect(runs).toEqual(['a', 'b', 'a', 'b']);
  });

  it('drops folded runs on close', () => {
    const runs: string[] = [];
    const throttle = new KeyedThrottle(1000, (key) => runs.push(key));
    throttle.offer('a');
    throttle.offer('a');
    throttle.close();
    jest.advanceTimersByTime(2000);
    expect(runs).toEqual(['a']);
  });
});
