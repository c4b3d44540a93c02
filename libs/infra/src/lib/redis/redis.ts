import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import type { Socket } from 'node:net';
import type { RedisKeys } from './keys';

export type RedisRole =
  /** Fails fast when Redis is away, so intake answers 503 instead of waiting. */
  | 'producer'
  /** Blocking commands and subscriptions: retries forever, as BullMQ workers require. */
  | 'worker';

const logger = new Logger('Redis');

/** Logs a client's errors at most once every 10 s: an unhandled 'error' event would crash the process. */
function attachErrorListener(client: Redis, name: string): void {
  let lastLogged = 0;
  client.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastLogged < 10_000) return;
    lastLogged = now;
    logger.warn(`${name}: ${error.message}`);
  });
}

/** A Redis connection set up as BullMQ asks for its role; `rediss://` and passwords come from the URL. */
export function createRedis(url: string, role: RedisRole, name: string, extra: RedisOptions = {}): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 };
  const client = new Redis(url, {
    ...options,
    connectionName: `dash:${name}`,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  });
  attachErrorListener(client, name);
  return client;
}

/**
 * Commands a client issues during one turn of the event loop leave in one socket write, at the
 * end of the turn, instead of one write each: after a flush commits, the releases and job
 * completions of its many jobs go out together. Each write over loopback costs a system call and a
 * wake-up of Redis, which under load cost more than the commands themselves. Order, replies and
 * errors are unchanged (this is ioredis' own sending, corked): unlike `enableAutoPipelining`, no
 * command is regrouped. Not for connections that block (BullMQ creates its own for that), nor
 * where many wait for one command's answer (the web's intake producer: its job would wait for the
 * end of the turn, behind every request parsed meanwhile).
 */
export function coalesceWrites(client: Redis): Redis {
  const patched = new WeakSet<object>();
  const patch = () => {
    const stream = client.stream as Socket | undefined;
    if (!stream || patched.has(stream)) return;
    patched.add(stream);
    const write = stream.write;
    let corked = false;
    const uncork = () => {
      corked = false;
      stream.uncork();
    };
    stream.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
      if (!corked) {
        corked = true;
        stream.cork();
        setImmediate(uncork);
      }
      return write.apply(this, args);
    } as Socket['write'];
  };
  client.on('connect', patch);
  patch();
  return client;
}

/** Waits for a client to be ready (or fails after the timeout). */
export async function whenReady(client: Redis, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}

const EVICTING = /^(allkeys|volatile)-/;

/**
 * BullMQ loses jobs when Redis evicts keys. Refuses to run on an evicting policy, with the fix.
 * Reads INFO (CONFIG is often disabled on managed Redis).
 */
export async function assertNoEviction(client: Redis): Promise<void> {
  const info = await client.info('memory');
  const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  if (policy && EVICTING.test(policy)) {
    throw new Error(
      `Redis maxmemory-policy is ${policy}: Redis would evict queued events. Set it to noeviction ` +
        `(redis-cli CONFIG SET maxmemory-policy noeviction, or maxmemory-policy noeviction in redis.conf).`,
    );
  }
}

/**
 * Closes a client gracefully, or at once if QUIT fails. A client that is closed already, or whose
 * connection closed before QUIT's answer arrived, is left alone: disconnecting it again would start
 * ioredis' 2 s timer for a socket that has already closed, and hold the process that long.
 */
export async function quit(client: Redis): Promise<void> {
  const closed = () => client.status === 'end';
  if (closed()) return;
  try {
    await client.quit();
  } catch {
    if (!closed()) client.disconnect();
  }
}

/**
 * Binds the key prefix to this deployment's database, or refuses to start. Two deployments
 * with their own databases on one Redis and one prefix would take each other's jobs, and the
 * events of pipelines a database does not have would be lost to the other. The first node to
 * start claims the prefix for its database (`<prefix>:owner` = the database's deployment id,
 * not its URL, which differs between hosts and pooled and direct connections).
 */
export async function bindKeyPrefix(client: Redis, keys: RedisKeys, deploymentId: string): Promise<void> {
  const claimed = await client.set(keys.owner, deploymentId, 'NX');
  if (claimed === 'OK') return;
  const owner = await client.get(keys.owner);
  if (owner === deploymentId) return;
  if (owner === null) return bindKeyPrefix(client, keys, deploymentId); // deleted between the two calls
  throw new Error(
    `DASH_KEY_PREFIX "${keys.prefix}" belongs to another Dash deployment on this Redis (its database ${owner}; this one is ${deploymentId}). ` +
      `Give each deployment its own DASH_KEY_PREFIX (or its own Redis). If that deployment is gone for good, delete the Redis key ${keys.owner}.`,
  );
}
