import { withTimeout } from '@dash/domain';
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { coalesceWrites, createRedis, quit, whenReady } from './redis';

/** Counts the system-call-level writes of a client's socket (one per `_write` or `_writev`). */
function countWrites(client: Redis): { readonly count: number } {
  const stream = client.stream as Socket & { _write: (...args: unknown[]) => void; _writev?: (...args: unknown[]) => void };
  const counter = { count: 0 };
  for (const method of ['_write', '_writev'] as const) {
    const original = stream[method];
    if (!original) continue;
    stream[method] = function (this: Socket, ...args: unknown[]) {
      counter.count += 1;
      return original.apply(this, args);
    };
  }
  return counter;
}

describe(coalesceWrites.name, () => {
  const prefix = `dash_t_coalesce_${randomBytes(4).toString('hex')}`;
  const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const clients: Redis[] = [];

  async function client(coalesce: boolean): Promise<Redis> {
    const created = createRedis(url, 'producer', 'coalesce-test');
    clients.push(created);
    if (coalesce) coalesceWrites(created);
    await whenReady(created);
    return created;
  }

  afterAll(async () => {
    const [first] = clients;
    const found = await first.keys(`${prefix}:*`);
    if (found.length) await first.del(...found);
    await Promise.all(clients.map(quit));
  });

  it('sends the commands of one turn of the event loop in one write, in order, with every reply', async () => {
    const redis = await client(true);
    const writes = countWrites(redis);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => redis.incrby(`${prefix}:n`, i + 1)));
    expect(writes.count).toBe(1);
    // Running totals 1, 1+2, 1+2+3, ...: the commands reached Redis in the order they were issued.
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => ((i + 1) * (i + 2)) / 2));
  });

  it('writes each command on its own without it (the behaviour it replaces)', async () => {
    const redis = await client(false);
    const writes = countWrites(redis);
    await Promise.all(Array.from({ length: 10 }, (_, i) => redis.set(`${prefix}:k${i}`, 'v')));
    expect(writes.count).toBeGreaterThan(1);
  });

  it('keeps coalescing after a reconnect (the socket is a new one)', async () => {
    const redis = await client(true);
    const reconnected = new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    redis.disconnect(true);
    await reconnected;
    const writes = countWrites(redis);
    await Promise.all(Array.from({ length: 20 }, () => redis.incr(`${prefix}:r`)));
    expect(writes.count).toBe(1);
    expect(await redis.get(`${prefix}:r`)).toBe('20');
  });
});

describe(quit.name, () => {
  const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

  it('closes an open client gracefully', async () => {
    const redis = createRedis(url, 'producer', 'quit-test');
    await whenReady(redis);
    const ended = new Promise((resolve) => redis.once('end', resolve));
    await quit(redis);
    await ended;
    expect(redis.status).toBe('end');
  });

  it('leaves a client that is closed already alone: a second disconnect would hold the process for 2 s', async () => {
    const redis = createRedis(url, 'producer', 'quit-test');
    await whenReady(redis);
    const ended = new Promise((resolve) => redis.once('end', resolve));
    redis.disconnect();
    await ended;
    const disconnect = jest.spyOn(redis, 'disconnect');
    await quit(redis);
    expect(disconnect).not.toHaveBeenCalled();
  });
});

describe('a subscriber connection', () => {
  const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const channel = `dash_t_subscriber_${randomBytes(4).toString('hex')}`;

  /**
   * socket.io's adapter subscribes as soon as it has the connection. A SUBSCRIBE is sent even
   * before ioredis' ready check (it may run while the server loads), whose INFO Redis then refuses
   * on a connection in subscriber mode (ioredis #2037): the connection failed and reconnected,
   * and the subscription was lost. Here, subscribing on 'connect'.
   */
  it('subscribes while connecting without failing its ready check', async () => {
    const errors: Error[] = [];
    const subscriber = createRedis(url, 'subscriber', 'subscriber-test');
    const publisher = createRedis(url, 'producer', 'subscriber-test');
    subscriber.on('error', (error: Error) => errors.push(error));
    const subscribed = new Promise<unknown>((resolve, reject) => subscriber.once('connect', () => subscriber.subscribe(channel).then(resolve, reject)));
    const received = new Promise<string>((resolve) => subscriber.once('message', (_channel: string, message: string) => resolve(message)));
    try {
      await withTimeout(subscribed, 10_000, 'the subscription');
      await whenReady(subscriber);
      await publisher.publish(channel, 'hello');
      expect(await withTimeout(received, 10_000, 'the message')).toBe('hello');
      expect(errors.map((error) => error.message)).toEqual([]);
    } finally {
      await Promise.all([quit(subscriber), quit(publisher)]);
    }
  });
});
