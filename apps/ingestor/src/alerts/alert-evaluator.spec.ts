import { AlertJobName, DEFAULT_ALERT_LOOKBACK_SECONDS, type AlertUpdated } from '@dash/domain';
import type { AlertsRepository, AlertTransition, DashConfig, RecentRejections, RedisKeys } from '@dash/infra';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { LivePublisher } from '../live/live-publisher';
import { AlertEvaluator, deliverJobId } from './alert-evaluator';

/** A hand-written AlertsRepository: the round's answer is set by the test; what was asked is kept. */
class FakeAlerts implements Pick<AlertsRepository, 'evaluate' | 'unqueued' | 'markEnqueued'> {
  transitions: AlertTransition[] | null = [];
  pending: string[] = [];
  readonly evaluated: Array<{ rejections: RecentRejections; lookback: number }> = [];
  readonly marked: string[][] = [];
  async evaluate(rejections: RecentRejections, lookback: number) {
    this.evaluated.push({ rejections, lookback });
    return this.transitions;
  }
  async unqueued(limit: number) {
    return this.pending.slice(0, limit);
  }
  async markEnqueued(ids: readonly string[]) {
    this.marked.push([...ids]);
    this.pending = this.pending.filter((id) => !ids.includes(id));
  }
}

/** The sorted set of recent 429s as `MULTI zremrangebyscore zrange WITHSCORES` answers it. */
const fakeRedis = (flat: string[]) => {
  const trimmed: Array<[string, string, number]> = [];
  const chain = {
    zremrangebyscore: (key: string, min: string, max: number) => (trimmed.push([key, min, max]), chain),
    zrange: () => chain,
    exec: async () => [
      [null, 0],
      [null, flat],
    ],
  };
  return { redis: { multi: () => chain } as unknown as Pick<Redis, 'multi'>, trimmed };
};

/** The live publisher: what the round announced (it never throws: a lost update is its own concern). */
class FakeLive implements Pick<LivePublisher, 'alertUpdated'> {
  readonly sent: AlertUpdated[] = [];
  alertUpdated(update: AlertUpdated): void {
    this.sent.push(update);
  }
}

class FakeQueue {
  readonly added: Array<{ name: string; data: { notificationId: string }; opts: { jobId?: string; backoff?: { delay: number } } }> = [];
  async addBulk(jobs: FakeQueue['added']) {
    this.added.push(...jobs);
    return [];
  }
}

function setup(flat: string[] = []) {
  const alerts = new FakeAlerts();
  const { redis, trimmed } = fakeRedis(flat);
  const live = new FakeLive();
  const queue = new FakeQueue();
  const config = { keyPrefix: 'dash:test', alerts: { from: 'x', retryBaseMs: 250 } } as Pick<DashConfig, 'keyPrefix' | 'alerts'>;
  const keys = { backlogRejections: 'dash:test:rejections' } as Pick<RedisKeys, 'backlogRejections'>;
  const evaluator = new AlertEvaluator(config, alerts, redis, live, keys, queue as unknown as Pick<Queue, 'addBulk'>);
  return { alerts, live, queue, trimmed, evaluator };
}

describe(AlertEvaluator.name, () => {
  it('hands the round the pipelines answered 429 and when, and trims the ones older than a day', async () => {
    const at = Date.parse('2026-01-01T00:00:00Z');
    const { evaluator, alerts, trimmed } = setup(['p1', String(at), 'p2', String(at + 1000)]);
    await evaluator.round();
    expect(alerts.evaluated).toEqual([{ rejections: { pipelines: ['p1', 'p2'], times: ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z'] }, lookback: DEFAULT_ALERT_LOOKBACK_SECONDS }]);
    expect(trimmed[0][0]).toBe('dash:test:rejections');
    expect(Date.now() - trimmed[0][2]).toBeGreaterThanOrEqual(86_400_000);
  });

  it('does nothing more when another round holds the lock', async () => {
    const { evaluator, alerts, queue, live } = setup();
    alerts.transitions = null;
    alerts.pending = ['1'];
    expect(await evaluator.round()).toEqual({ ran: false, transitions: 0, enqueued: 0 });
    expect(queue.added).toEqual([]);
    expect(live.sent).toEqual([]);
  });

  it('announces each state change, flapping included, then queues the new notifications by their id', async () => {
    const { evaluator, alerts, queue, live } = setup();
    const since = new Date('2026-01-01T00:00:00Z');
    alerts.transitions = [
      { id: 'a1', pipeline_id: 'p1', state: 'firing', since },
      { id: 'a2', pipeline_id: 'p1', state: 'flapping', since },
    ];
    alerts.pending = ['10', '11'];
    expect(await evaluator.round()).toEqual({ ran: true, transitions: 2, enqueued: 2 });
    expect(live.sent).toEqual([
      { pipelineId: 'p1', alertId: 'a1', state: 'firing', since: since.toISOString() },
      { pipelineId: 'p1', alertId: 'a2', state: 'flapping', since: since.toISOString() },
    ]);
    expect(queue.added.map((job) => [job.name, job.data.notificationId, job.opts.jobId, job.opts.backoff?.delay])).toEqual([
      [AlertJobName.Deliver, '10', deliverJobId('10'), 250],
      [AlertJobName.Deliver, '11', deliverJobId('11'), 250],
    ]);
    expect(alerts.marked).toEqual([['10', '11']]);
  });

  it('sweeps notifications left unqueued even in a round without changes', async () => {
    const { evaluator, alerts, queue } = setup();
    alerts.pending = ['7'];
    expect(await evaluator.round()).toEqual({ ran: true, transitions: 0, enqueued: 1 });
    expect(queue.added.map((job) => job.opts.jobId)).toEqual([deliverJobId('7')]);
    expect(await evaluator.enqueuePending()).toBe(0);
  });
});
