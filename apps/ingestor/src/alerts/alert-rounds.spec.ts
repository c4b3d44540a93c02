import { AlertJobName } from '@dash/domain';
import type { Queue } from 'bullmq';
import { EventEmitter } from 'node:events';
import type { AlertEvaluator } from './alert-evaluator';
import { AlertRounds, EVALUATE_EVERY_MS } from './alert-rounds';

/** A hand-written `default` queue: keeps the scheduler and the jobs it is given. */
class FakeQueue {
  readonly schedulers: Array<{ id: string; every?: number; name?: string }> = [];
  readonly added: Array<{ name: string; jobId?: string }> = [];
  failures = 0;
  async upsertJobScheduler(id: string, repeat: { every?: number }, template: { name?: string }) {
    if (this.failures-- > 0) throw new Error('Redis is away');
    this.schedulers.push({ id, every: repeat.every, name: template.name });
    return undefined;
  }
  async add(name: string, _data: unknown, opts: { jobId?: string }) {
    this.added.push({ name, jobId: opts.jobId });
    return undefined;
  }
}

function setup() {
  let rounds = 0;
  const evaluator: Pick<AlertEvaluator, 'round'> = { round: async () => (rounds++, { ran: true, transitions: 0, enqueued: 0 }) };
  const queue = new FakeQueue();
  // The Redis connection's events: 'ready' again after a reconnection.
  const redis = new EventEmitter();
  const alertRounds = new AlertRounds(evaluator, queue as unknown as Pick<Queue, 'upsertJobScheduler' | 'add'>, redis);
  return { alertRounds, queue, redis, rounds: () => rounds };
}

describe(AlertRounds.name, () => {
  it('runs a round for the evaluate job', async () => {
    const { alertRounds, rounds } = setup();
    expect(Object.keys(alertRounds.jobs)).toEqual([AlertJobName.Evaluate]);
    await alertRounds.jobs[AlertJobName.Evaluate]({} as never);
    expect(rounds()).toBe(1);
  });

  it('schedules one round a second for the cluster, under one scheduler id', async () => {
    const { alertRounds, queue } = setup();
    alertRounds.onApplicationBootstrap();
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.schedulers).toEqual([{ id: 'alerts-evaluate', every: EVALUATE_EVERY_MS, name: AlertJobName.Evaluate }]);
    alertRounds.onApplicationShutdown();
  });

  it('schedules again whenever Redis comes back (one that returns empty has lost the scheduler)', async () => {
    const { alertRounds, queue, redis } = setup();
    alertRounds.onApplicationBootstrap();
    await new Promise((resolve) => setImmediate(resolve));
    redis.emit('ready');
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.schedulers.map((scheduler) => scheduler.id)).toEqual(['alerts-evaluate', 'alerts-evaluate']);
    alertRounds.onApplicationShutdown();
  });

  it('asks for a round now under one job id, however many ask', async () => {
    const { alertRounds, queue } = setup();
    await alertRounds.evaluateSoon();
    await alertRounds.evaluateSoon();
    expect(queue.added).toEqual([
      { name: AlertJobName.Evaluate, jobId: 'alerts-evaluate-now' },
      { name: AlertJobName.Evaluate, jobId: 'alerts-evaluate-now' },
    ]);
  });
});
