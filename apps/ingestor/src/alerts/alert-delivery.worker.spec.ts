import type { AlertUpdated } from '@dash/domain';
import type { DashConfig, DeliveryRow, RedisKeys } from '@dash/infra';
import type { Redis } from 'ioredis';
import type { AlertDelivery } from './alert-delivery';
import { AlertDeliveryWorker, type DeliveryLog } from './alert-delivery.worker';
import type { AlertEvaluator } from './alert-evaluator';

const row = (status: DeliveryRow['status'] = 'queued'): DeliveryRow => ({
  id: '41',
  kind: 'firing',
  channel: { type: 'webhook', url: 'https://hooks.example.com/dash' },
  status,
  at: new Date('2026-01-01T00:00:00Z'),
  alert_id: 'a1',
  alert_name: 'Orders stopped',
  condition: { type: 'failures' },
  signing_secret: 'whsec_x',
  pipeline_id: 'p1',
  pipeline_name: 'Orders',
});

/** A hand-written delivery log: one notification, and every change recorded to it. */
class FakeLog implements DeliveryLog {
  readonly changes: string[] = [];
  constructor(private readonly stored: DeliveryRow | null) {}
  async delivery() {
    return this.stored;
  }
  async recordFailedAttempt(id: string, error: string, last: boolean) {
    this.changes.push(`${id} ${last ? 'failed' : 'retry'}: ${error}`);
  }
  async recordSent(id: string) {
    this.changes.push(`${id} sent`);
  }
  async recordGivenUp(id: string, error: string) {
    this.changes.push(`${id} given up: ${error}`);
  }
  async stateOf() {
    return { state: 'firing' as const, since: new Date('2026-01-01T00:00:00Z') };
  }
}

function setup(stored: DeliveryRow | null, send: () => Promise<void>) {
  const log = new FakeLog(stored);
  const announced: AlertUpdated[] = [];
  const sent: DeliveryRow[] = [];
  const delivery: Pick<AlertDelivery, 'send'> = { send: async (r) => (sent.push(r), send()) };
  const evaluator: Pick<AlertEvaluator, 'announce'> = { announce: (change) => void announced.push(change) };
  const config = { keyPrefix: 'dash:test', queues: { mailers: 1 } } as DashConfig;
  const worker = new AlertDeliveryWorker(config, log, {} as RedisKeys, delivery, evaluator, {} as Redis);
  return { worker, log, announced, sent };
}

const job = (attemptsMade: number) => ({ data: { notificationId: '41' }, attemptsMade, opts: { attempts: 6 } });

describe(AlertDeliveryWorker.name, () => {
  it('records a delivery sent and tells the page', async () => {
    const { worker, log, announced } = setup(row(), async () => undefined);
    await worker.deliver(job(0));
    expect(log.changes).toEqual(['41 sent']);
    expect(announced).toEqual([{ pipelineId: 'p1', alertId: 'a1', state: 'firing', since: '2026-01-01T00:00:00.000Z' }]);
  });

  it('records a failed attempt with its error to be retried (and tells the page), and throws so BullMQ retries', async () => {
    const { worker, log, announced } = setup(row(), async () => Promise.reject(new Error('getaddrinfo ENOTFOUND hooks.example.com')));
    await expect(worker.deliver(job(1))).rejects.toThrow('ENOTFOUND');
    expect(log.changes).toEqual(['41 retry: getaddrinfo ENOTFOUND hooks.example.com']);
    expect(announced).toHaveLength(1);
  });

  it('records the last attempt as failed', async () => {
    const { worker, log } = setup(row(), async () => Promise.reject(new Error('the receiver answered 500')));
    await expect(worker.deliver(job(5))).rejects.toThrow('500');
    expect(log.changes).toEqual(['41 failed: the receiver answered 500']);
  });

  it('keeps stored errors short', async () => {
    const { worker, log } = setup(row(), async () => Promise.reject(new Error('x'.repeat(2000))));
    await expect(worker.deliver(job(0))).rejects.toThrow();
    expect(log.changes[0].length).toBeLessThan(600);
  });

  it.each([
    ['gone with its alert', null],
    ['settled already (a sweep re-added its job)', row('sent')],
  ])('sends nothing for a notification %s', async (_, stored) => {
    const { worker, log, sent } = setup(stored, async () => undefined);
    await worker.deliver(job(0));
    expect(sent).toEqual([]);
    expect(log.changes).toEqual([]);
  });
});
