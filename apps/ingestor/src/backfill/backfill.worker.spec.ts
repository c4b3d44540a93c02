import { BACKFILL_DUTY, BACKFILL_STEP_PAUSE_MS, pauseAfter } from './backfill.worker';

describe('backfill pacing', () => {
  it('pauses at least the shortest pause, and long enough after a costly step that steps take one tenth of the time', () => {
    expect(pauseAfter(0)).toBe(BACKFILL_STEP_PAUSE_MS);
    expect(pauseAfter(20)).toBe(BACKFILL_STEP_PAUSE_MS);
    expect(pauseAfter(150)).toBe(1350);
    for (const stepMs of [40, 150, 900]) expect(stepMs / (stepMs + pauseAfter(stepMs))).toBeCloseTo(BACKFILL_DUTY, 2);
  });
});
