import { pipelineRoom, SocketEvent, type AlertUpdated, type DataUpdated, type PipelineStats } from '@dash/domain';
import { coalesceWrites, createLiveAdapter, createLiveBroadcaster, createRedis, quit, RedisKeys, whenReady, type LiveAdapterKind } from '@dash/infra';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { LivePublisher } from './live-publisher';

/** The update of version `v`, told apart by its last event's id. */
const state = (pipelineId: string, version: number): PipelineStats => ({
  pipelineId,
  count: version,
  version,
  lastEventAt: new Date(0).toISOString(),
  lastEvent: { id: `marker-v${String(version).padStart(4, '0')}`, type: null, occurredAt: new Date(0).toISOString(), receivedAt: new Date(0).toISOString(), payload: {} },
});

/**
 * The publisher as the ingestor runs it (a socket.io server that does not listen, on the adapter),
 * seen from a socket of a real socket.io server on the same adapter, as a web node's: with the
 * sharded adapter (Redis 7+) and the classic one (Redis 6.2).
 */
describe.each<LiveAdapterKind>(['sharded', 'classic'])(`${LivePublisher.name} (%s adapter)`, (kind) => {
  const prefix = `dash_t_live_${randomBytes(4).toString('hex')}`;
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const keys = new RedisKeys(prefix);
  /** What the queues module injects in the ingestor: a corked worker connection, a subscriber, the server on both. */
  const connection = coalesceWrites(createRedis(redisUrl, 'worker', 'test-live-publisher'));
  const publisherSub = createRedis(redisUrl, 'worker', 'test-live-publisher-sub');
  const webPub = createRedis(redisUrl, 'worker', 'test-live-web');
  const webSub = createRedis(redisUrl, 'worker', 'test-live-web-sub');
  const broadcaster = createLiveBroadcaster(kind, connection, publisherSub, keys);
  let http: HttpServer;
  let web: Server;
  let url: string;
  const sockets: Socket[] = [];
  let publisher: LivePublisher;

  beforeAll(async () => {
    await Promise.all([connection, publisherSub, webPub, webSub].map((client) => whenReady(client)));
    http = createServer();
    web = new Server(http, { transports: ['websocket'] });
    web.adapter(createLiveAdapter(kind, webPub, webSub, keys));
    web.on('connection', (socket) => socket.on('join', (room: string, ack: () => void) => void Promise.resolve(socket.join(room)).then(ack)));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    publisher = new LivePublisher(connection, broadcaster);
  });

  afterAll(async () => {
    publisher.onApplicationShutdown();
    for (const socket of sockets) socket.disconnect();
    await new Promise((resolve) => web.close(resolve));
    await broadcaster.of('/').adapter.close();
    for (const client of [connection, publisherSub, webPub, webSub]) await quit(client);
  });

  /** A socket in the pipeline's room, with what it received. */
  const viewer = async (pipelineId: string) => {
    const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
    sockets.push(socket);
    const updates: DataUpdated[] = [];
    const alerts: AlertUpdated[] = [];
    const failures: string[] = [];
    socket.on(SocketEvent.DataUpdated, (update: DataUpdated) => updates.push(update));
    socket.on(SocketEvent.FailuresUpdated, (update: { pipelineId: string }) => failures.push(update.pipelineId));
    socket.on(SocketEvent.AlertUpdated, (update: AlertUpdated) => alerts.push(update));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await new Promise<void>((resolve) => socket.emit('join', pipelineRoom(pipelineId), resolve));
    const versions = () => updates.map((update) => Number(/marker-v(\d{4})/.exec(update.lastEvent?.id ?? '')?.[1]));
    const waitForVersion = async (version: number) => {
      const deadline = Date.now() + 10_000;
      while (!versions().includes(version)) {
        if (Date.now() > deadline) throw new Error(`version ${version} never announced (seen ${versions().join(',')})`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    return { updates, alerts, failures, versions, waitForVersion };
  };

  it('announces two updates that come together at once, then holds the rest to the newest, which always goes out', async () => {
    const pipelineId = randomUUID();
    const { versions, waitForVersion } = await viewer(pipelineId);
    // Ten updates in one turn: the burst of two goes, the third to tenth coalesce into the tenth.
    for (let version = 1; version <= 10; version++) publisher.publish([state(pipelineId, version)]);
    await waitForVersion(10);
    await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more is to come
    expect(versions()).toEqual([1, 2, 10]);
  });

  it('keeps to 20 updates a second under a steady stream, and ends on the last state', async () => {
    const pipelineId = randomUUID();
    const { versions, waitForVersion } = await viewer(pipelineId);
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
    const seen = versions();
    expect(seen.length).toBeLessThanOrEqual(Math.floor(elapsed / 50) + 2);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen[seen.length - 1]).toBe(version);
  });

  it('announces a state whose payload is nested too deep (stored by an older version) with the payload left out, at once and from its timer, without throwing', async () => {
    const pipelineId = randomUUID();
    const { updates, versions, waitForVersion } = await viewer(pipelineId);
    const deep = JSON.parse('{"a":'.repeat(8000) + '1' + '}'.repeat(8000)) as unknown;
    const deepState = (version: number): PipelineStats => {
      const base = state(pipelineId, version);
      return { ...base, lastEvent: { ...(base.lastEvent as NonNullable<PipelineStats['lastEvent']>), payload: deep } };
    };
    // Versions 1 and 2 go at once (the burst), 3 from the delayed send: before, the first threw out
    // of publish and the delayed one threw from a timer (an uncaught exception ends the process).
    for (let version = 1; version <= 3; version++) expect(() => publisher.publish([deepState(version)])).not.toThrow();
    await waitForVersion(3);
    expect(versions()).toEqual([1, 2, 3]);
    for (const update of updates) expect(update.lastEvent).toMatchObject({ payloadTruncated: true, payload: null });
  });

  it('sends alert changes to the room at once, uncoalesced, and nothing to other rooms', async () => {
    const pipelineId = randomUUID();
    const watched = await viewer(pipelineId);
    const other = await viewer(randomUUID());
    const since = new Date().toISOString();
    publisher.alertUpdated({ pipelineId, alertId: 'a1', state: 'firing', since });
    publisher.alertUpdated({ pipelineId, alertId: 'a1', state: 'ok', since });
    const deadline = Date.now() + 10_000;
    while (watched.alerts.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(watched.alerts).toEqual([
      { pipelineId, alertId: 'a1', state: 'firing', since },
      { pipelineId, alertId: 'a1', state: 'ok', since },
    ]);
    // The other room's socket got nothing, though it was subscribed before either was sent.
    publisher.publish([state(pipelineId, 1)]);
    await watched.waitForVersion(1);
    expect(other.alerts).toEqual([]);
    expect(other.updates).toEqual([]);
  });

  it('tells a pipeline\'s pages its failures changed at once, then at most once a second however many batches fail', async () => {
    const pipelineId = randomUUID();
    const { failures } = await viewer(pipelineId);
    const notices = () => failures.filter((id) => id === pipelineId).length;
    // A flood of failing batches: the first is told at once, the rest fold into one a second later.
    for (let i = 0; i < 200; i++) publisher.publish([], [pipelineId]);
    const deadline = Date.now() + 10_000;
    while (notices() < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(notices()).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // nothing more is to come
    expect(notices()).toBe(2);
  });
});
