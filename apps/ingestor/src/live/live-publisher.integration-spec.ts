import type { PipelineStats, ServerToClientEvents } from '@dash/domain';
import { coalesceWrites, createRedis, quit, RedisKeys, whenReady } from '@dash/infra';
import { Emitter } from '@socket.io/redis-emitter';
import { Redis } from 'ioredis';
import { randomBytes, randomUUID } from 'node:crypto';
import { LivePublisher } from './live-publisher';

/** The update of version `v`, told apart in the emitter's msgpack frames by its last event's id. */
const state = (pipelineId: string, version: number): PipelineStats => ({
  pipelineId,
  count: version,
  version,
  lastEventAt: new Date(0).toISOString(),
  lastEvent: { id: `marker-v${String(version).padStart(4, '0')}`, type: null, occurredAt: new Date(0).toISOString(), receivedAt: new Date(0).toISOString(), payload: {} },
});

describe(LivePublisher.name, () => {
  const prefix = `dash_t_live_${randomBytes(4).toString('hex')}`;
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const keys = new RedisKeys(prefix);
  const subscriber = new Redis(redisUrl);
  /** Versions announced on the socket.io channels, in order. */
  const seen: number[] = [];
  /** The frames announced, as latin1 text. */
  const frames: string[] = [];
  /** What the queues module injects in the ingestor: a corked worker connection and the emitter on it. */
  const connection = coalesceWrites(createRedis(redisUrl, 'worker', 'test-live-publisher'));
  let publisher: LivePublisher;

  beforeAll(async () => {
    await subscriber.psubscribe(`${keys.socketio}*`);
    subscriber.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, message: Buffer) => {
      frames.push(message.toString('latin1'));
      const match = /marker-v(\d{4})/.exec(message.toString('latin1'));
      if (match) seen.push(Number(match[1]));
    });
    publisher = new LivePublisher(connection, new Emitter<ServerToClientEvents>(connection, { key: keys.socketio }));
    await whenReady(connection);
  });

  afterAll(async () => {
    publisher.onApplicationShutdown();
    await quit(connection);
    subscriber.disconnect();
  });

  const waitForVersion = async (version: number) => {
    const deadline = Date.now() + 10_000;
    while (!seen.includes(version)) {
      if (Date.now() > deadline) throw new Error(`version ${version} never announced (seen ${seen.join(',')})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  it('announces two updates that come together at once, then holds the rest to the newest, which always goes out', async () => {
    seen.length = 0;
    const pipelineId = randomUUID();
    // Ten updates in one turn: the burst of two goes, the third to tenth coalesce into the tenth.
    for (let version = 1; version <= 10; version++) publisher.publish([state(pipelineId, version)]);
    await waitForVersion(10);
    await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more is to come
    expect(seen).toEqual([1, 2, 10]);
  });

  it('keeps to 20 updates a second under a steady stream, and ends on the last state', async () => {
    seen.length = 0;
    const pipelineId = randomUUID();
    const started = Date.now();
    let version = 0;
    // A new state every 5 ms for 500 ms: 100 states.
    while (Date.now() - started < 500) {
      publisher.publish([state(pipelineId, ++version)]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await waitForVersion(version);
    const elapsed = Date.now() - started;
    // One token every 50 ms plus the burst of two: never more than that, whatever the stream.
    expect(seen.length).toBeLessThanOrEqual(Math.floor(elapsed / 50) + 2);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen[seen.length - 1]).toBe(version);
  });

  it('announces a state whose payload is nested too deep (stored by an older version) with the payload left out, at once and from its timer, without throwing', async () => {
    seen.length = 0;
    frames.length = 0;
    const pipelineId = randomUUID();
    const deep = JSON.parse('{"a":'.repeat(8000) + '1' + '}'.repeat(8000)) as unknown;
    const deepState = (version: number): PipelineStats => {
      const base = state(pipelineId, version);
      return { ...base, lastEvent: { ...(base.lastEvent as NonNullable<PipelineStats['lastEvent']>), payload: deep } };
    };
    // Versions 1 and 2 go at once (the burst), 3 from the delayed send: before, the first threw out
    // of publish and the delayed one threw from a timer (an uncaught exception ends the process).
    for (let version = 1; version <= 3; version++) expect(() => publisher.publish([deepState(version)])).not.toThrow();
    await waitForVersion(3);
    expect(seen).toEqual([1, 2, 3]);
    for (const frame of frames.filter((text) => text.includes('marker-v'))) expect(frame).toContain('payloadTruncated');
  });

  it('tells a pipeline\'s pages its failures changed at once, then at most once a second however many batches fail', async () => {
    frames.length = 0;
    const pipelineId = randomUUID();
    const notices = () => frames.filter((text) => text.includes('failures_updated') && text.includes(pipelineId)).length;
    // A flood of failing batches: the first is told at once, the rest fold into one a second later.
    for (let i = 0; i < 200; i++) publisher.publish([], [pipelineId]);
    const deadline = Date.now() + 10_000;
    while (notices() < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(notices()).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // nothing more is to come
    expect(notices()).toBe(2);
  });
});
