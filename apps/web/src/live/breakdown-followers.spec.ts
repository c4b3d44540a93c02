import { EventEmitter } from 'node:events';
import type { Breakdown } from '@dash/domain';
import type { BreakdownsRepository, PipelineEntity } from '@dash/infra';
import type { Server } from 'socket.io';
import type { PipelineCache } from '../pipelines/pipeline-cache';
import type { BreakdownQuery } from '../series/breakdown.params';
import { BreakdownsService } from '../series/breakdowns.service';
import { BREAKDOWN_MIN_INTERVAL_MS, BREAKDOWN_ROUND_SPACING, BreakdownFollowers } from './breakdown-followers';

const PIPELINE = { id: 'p1', dimensions: ['data.currency'], measures: ['data.total'] } as unknown as PipelineEntity;

/** A hand-written BreakdownsService: counts reads, answers a total that grows with each read. */
class FakeBreakdowns {
  readonly reads: BreakdownQuery[] = [];
  /** How long each read takes on the (fake) clock. */
  costMs = 0;
  /** The service's own checks (they read nothing). */
  check(pipeline: PipelineEntity, query: BreakdownQuery): void {
    new BreakdownsService(null as unknown as BreakdownsRepository).check(pipeline, query);
  }

  async breakdown(_pipeline: PipelineEntity, query: BreakdownQuery): Promise<Breakdown> {
    this.reads.push(query);
    jest.setSystemTime(Date.now() + this.costMs);
    return { by: query.by, from: query.from.toISOString(), to: query.to.toISOString(), total: this.reads.length, items: [], partial: false };
  }
}

/** The slice of a socket.io server the followers use: the adapter's room events and local emits. */
class FakeServer {
  readonly adapter = new EventEmitter();
  readonly sent: Array<{ room: string; total: number }> = [];
  of() {
    return { adapter: this.adapter };
  }
  get local() {
    return { to: (room: string) => ({ emit: (_event: string, update: { total: number }) => this.sent.push({ room, total: update.total }) }) };
  }
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function setup(breakdownIntervalMs?: number) {
  const reads = new FakeBreakdowns();
  const cache = { get: async () => ({ entity: PIPELINE }) } as unknown as PipelineCache;
  const followers = new BreakdownFollowers(reads as unknown as BreakdownsService, cache, breakdownIntervalMs === undefined ? undefined : { breakdownIntervalMs });
  const server = new FakeServer();
  followers.attach(server as unknown as Server);
  return { reads, followers, server };
}

async function follow(followers: BreakdownFollowers, raw: unknown) {
  const followed = await followers.validate(PIPELINE, raw);
  if ('problem' in followed) throw new Error(followed.problem);
  followers.follow(PIPELINE.id, followed.key, { request: followed.request, room: followed.room });
  return followed;
}

describe(BreakdownFollowers.name, () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  it('reads each distinct breakdown once per round, however many sockets follow it, and sends it to its room', async () => {
    const { reads, followers, server } = setup();
    // Two sockets on one breakdown (the same request spelled two ways), a third on another.
    const a = await follow(followers, { by: 'data.currency', where: ['type=b', 'type=a'] });
    const b = await follow(followers, { by: 'data.currency', where: ['type=a', 'type=b'], range: '24h' });
    const c = await follow(followers, { by: 'type', measure: 'data.total', range: '1h' });
    expect(b.room).toBe(a.room);
    expect(followers.size).toBe(2);
    reads.reads.length = 0;

    followers.stored('p1');
    await settle();
    expect(reads.reads.map((query) => query.by)).toEqual(['data.currency', 'type']);
    expect(reads.reads[1]).toMatchObject({ measure: 'data.total' });
    expect(reads.reads[1].to.getTime() - reads.reads[1].from.getTime()).toBe(3_600_000);
    expect(server.sent.map((sent) => sent.room)).toEqual([a.room, c.room]);
  });

  it('coalesces a burst: one round at once, one more after the interval with the newest state, none for other pipelines', async () => {
    const { reads, followers, server } = setup();
    const { room } = await follow(followers, { by: 'data.currency' });
    reads.reads.length = 0;

    for (let i = 0; i < 5; i++) followers.stored('p1');
    followers.stored('p2');
    await settle();
    expect(reads.reads).toHaveLength(1);
    jest.advanceTimersByTime(BREAKDOWN_MIN_INTERVAL_MS - 1);
    await settle();
    expect(reads.reads).toHaveLength(1);
    jest.advanceTimersByTime(1);
    await settle();
    expect(reads.reads).toHaveLength(2);
    // The last read is the one sent last: the state after the burst.
    expect(server.sent).toEqual([
      { room, total: 1 },
      { room, total: 2 },
    ]);
    jest.advanceTimersByTime(10 * BREAKDOWN_MIN_INTERVAL_MS);
    await settle();
    expect(reads.reads).toHaveLength(2);
  });

  it('waits the configured interval (BREAKDOWN_INTERVAL_MS) between rounds', async () => {
    const { reads, followers } = setup(1000);
    await follow(followers, { by: 'data.currency' });
    reads.reads.length = 0;
    followers.stored('p1');
    followers.stored('p1');
    await settle();
    jest.advanceTimersByTime(999);
    await settle();
    expect(reads.reads).toHaveLength(1);
    jest.advanceTimersByTime(1);
    await settle();
    expect(reads.reads).toHaveLength(2);
  });

  it(`spaces rounds that take long to ${BREAKDOWN_ROUND_SPACING} times their duration`, async () => {
    const { reads, followers } = setup();
    await follow(followers, { by: 'data.currency', where: ['data.currency=EUR'] });
    reads.reads.length = 0;
    reads.costMs = 300;
    followers.stored('p1');
    await settle();
    expect(reads.reads).toHaveLength(1);
    // The round took 300 ms: the next starts 1,500 ms after it started, not BREAKDOWN_INTERVAL_MS after.
    followers.stored('p1');
    jest.advanceTimersByTime(BREAKDOWN_ROUND_SPACING * 300 - 300 - 1);
    await settle();
    expect(reads.reads).toHaveLength(1);
    jest.advanceTimersByTime(1);
    await settle();
    expect(reads.reads).toHaveLength(2);
    // A quick round again: back to the interval.
    reads.costMs = 0;
    jest.advanceTimersByTime(BREAKDOWN_ROUND_SPACING * 300);
    followers.stored('p1');
    await settle();
    expect(reads.reads).toHaveLength(3);
    followers.stored('p1');
    jest.advanceTimersByTime(BREAKDOWN_MIN_INTERVAL_MS);
    await settle();
    expect(reads.reads).toHaveLength(4);
  });

  it('forgets a breakdown when its room empties', async () => {
    const { reads, followers, server } = setup();
    const { room } = await follow(followers, { by: 'data.currency' });
    reads.reads.length = 0;
    server.adapter.emit('delete-room', room);
    expect(followers.size).toBe(0);
    followers.stored('p1');
    await settle();
    expect(reads.reads).toHaveLength(0);
  });

  it('checks a request against the pipeline without reading anything', async () => {
    const { reads, followers } = setup();
    expect(followers.validate(PIPELINE, { by: 'data.other' })).toEqual({ problem: expect.stringContaining('is not a dimension') });
    expect(followers.validate(PIPELINE, { by: 'type', where: ['data.other=x'] })).toEqual({ problem: expect.stringContaining('is not a dimension') });
    expect(followers.validate(PIPELINE, { by: 'type', measure: 'data.other' })).toEqual({ problem: expect.stringContaining('is not a measure') });
    expect(followers.validate(PIPELINE, { by: 'data.currency', measure: 'data.total', where: ['type=order.paid'] })).toMatchObject({ key: expect.any(String) });
    expect(reads.reads).toHaveLength(0);
  });

  it('refuses malformed requests before reading anything', async () => {
    const { reads, followers } = setup();
    for (const raw of [null, 'type', { by: 3 }, { by: 'type', where: 'type=a' }, { by: 'type', range: '1y' }, { by: 'type', measure: 5 }]) {
      expect(await followers.validate(PIPELINE, raw)).toEqual({ problem: expect.any(String) });
    }
    expect(reads.reads).toHaveLength(0);
  });
});
