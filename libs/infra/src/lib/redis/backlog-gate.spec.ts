import { DashError } from '@dash/domain';
import { loadConfig } from '../config/config';
import type { BacklogTotals } from './backlog';
import { BacklogGate } from './backlog-gate';

/** The cluster's backlog counters as Redis would answer them, set by the test. */
class FakeBacklog {
  answer: BacklogTotals | Error = { total: 0, committed: 0, byPipeline: new Map() };

  set(total: number, committed: number, byPipeline: Record<string, number> = {}): void {
    this.answer = { total, committed, byPipeline: new Map(Object.entries(byPipeline)) };
  }

  totals(): Promise<BacklogTotals> {
    return this.answer instanceof Error ? Promise.reject(this.answer) : Promise.resolve(this.answer);
  }

  /** Rejections noted for the `backlog_full` alert, in order. */
  readonly rejections: Array<[string, number]> = [];

  async noteRejection(pipelineId: string, at: number): Promise<void> {
    this.rejections.push([pipelineId, at]);
  }
}

/** The error `check` throws, or null when it lets the events in. */
function refusal(gate: BacklogGate, pipelineId: string, incoming: number): DashError | null {
  try {
    gate.check(pipelineId, incoming);
    return null;
  } catch (error) {
    if (error instanceof DashError) return error;
    throw error;
  }
}

describe(BacklogGate.name, () => {
  const T0 = Date.parse('2026-01-01T00:00:00Z');
  let backlog: FakeBacklog;
  let gate: BacklogGate;

  beforeEach(() => {
    // Only the clock is faked (the samples are stamped with Date.now()); no timer runs.
    jest.useFakeTimers({ now: T0 });
    backlog = new FakeBacklog();
    gate = new BacklogGate(loadConfig({ INGEST_MAX_BACKLOG: '1000' }, 'web'), backlog);
  });

  afterEach(() => jest.useRealTimers());

  /** One refresh at T0 + `atMs`, with the cluster's figures then. */
  const sample = async (atMs: number, total: number, committed: number, byPipeline?: Record<string, number>) => {
    jest.setSystemTime(T0 + atMs);
    backlog.set(total, committed, byPipeline);
    await gate.refresh();
  };

  it('lets events in while the backlog stays under its limit', async () => {
    await sample(0, 900, 0, { a: 300, b: 300, c: 300 });
    expect(gate.current).toBe(900);
    expect(refusal(gate, 'a', 100)).toBeNull();
  });

  it('refuses every pipeline past the limit with 429 backlog_full, Retry-After from the drain rate', async () => {
    // 200 events committed a second; 1,200 waiting against a limit of 1,000.
    await sample(0, 1200, 0, { a: 400, b: 400, c: 400 });
    await sample(1000, 1200, 200, { a: 400, b: 400, c: 400 });
    const error = refusal(gate, 'd', 1);
    expect(error).toMatchObject({ status: 429, code: 'backlog_full' });
    // Time to drain back to half the limit: (1,200 − 500) / 200 a second, rounded up.
    expect(error?.retryAfterSeconds).toBe(4);
  });

  it('asks for 5 s when nothing is seen draining yet, and never for more than 60 s or less than 1 s', async () => {
    await sample(0, 1200, 0);
    expect(refusal(gate, 'a', 1)?.retryAfterSeconds).toBe(5);

    await sample(1000, 1_000_000, 1); // draining 1 event a second, far behind
    expect(refusal(gate, 'a', 1)?.retryAfterSeconds).toBe(60);

    await sample(2000, 1001, 1_000_000); // draining fast, barely over
    expect(refusal(gate, 'a', 1)?.retryAfterSeconds).toBe(1);
  });

  it('estimates the drain rate over the last 5 s only', async () => {
    await sample(0, 2000, 0);
    await sample(4000, 2000, 4000); // 1,000 a second
    await sample(10_000, 2000, 4010);
    // Of the last 5 s there is only the sample at 10 s: no rate (the fast drain is old news), so the default.
    expect(refusal(gate, 'a', 1)?.retryAfterSeconds).toBe(5);
  });

  it('refuses a pipeline holding half the limit alone, and lets the others in', async () => {
    await sample(0, 700, 0, { flood: 600, quiet: 100 });
    await sample(1000, 700, 100, { flood: 600, quiet: 100 });
    const error = refusal(gate, 'flood', 1);
    expect(error).toMatchObject({ status: 429, code: 'backlog_full' });
    expect(error?.message).toContain('this pipeline has 600 events waiting');
    // Back to a quarter of the limit: (600 − 250) / 100 a second.
    expect(error?.retryAfterSeconds).toBe(4);
    expect(refusal(gate, 'quiet', 100)).toBeNull();
  });

  it('keeps the last figures while Redis does not answer', async () => {
    await sample(0, 1200, 0);
    jest.setSystemTime(T0 + 1000);
    backlog.answer = new Error('Connection is closed.');
    await gate.refresh();
    expect(gate.current).toBe(1200);
    expect(refusal(gate, 'a', 1)).toMatchObject({ status: 429, code: 'backlog_full' });
  });

  it('lets a request in when the backlog is empty, however large it is', async () => {
    await sample(0, 0, 0);
    expect(refusal(gate, 'a', 5000)).toBeNull();
  });

  it('notes a refused pipeline for the backlog_full alert at most once a second', async () => {
    await sample(0, 1200, 0);
    refusal(gate, 'a', 1);
    refusal(gate, 'a', 1);
    refusal(gate, 'b', 1);
    jest.setSystemTime(T0 + 1000);
    refusal(gate, 'a', 1);
    expect(backlog.rejections).toEqual([
      ['a', T0],
      ['b', T0],
      ['a', T0 + 1000],
    ]);
  });

  it('notes nothing while it lets events in', async () => {
    await sample(0, 10, 0, { a: 10 });
    expect(refusal(gate, 'a', 1)).toBeNull();
    expect(backlog.rejections).toEqual([]);
  });
});
