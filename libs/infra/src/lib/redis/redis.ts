import { Logger } from '@nestjs/common';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { RedisNode, RedisTopology } from '../config/config';
import type { RedisKeys } from './keys';

/** Every Redis client Dash opens: one server or a master found through Sentinel (`Redis`), or a Redis Cluster (`Cluster`). */
export type RedisClient = Redis | Cluster;

export type RedisRole =
  /** Fails fast when Redis is away, so intake answers 503 instead of waiting. */
  | 'producer'
  /** Blocking commands: retries forever, as BullMQ workers require. */
  | 'worker'
  /** Subscriptions (socket.io adapter): retries forever; on a cluster, sharded subscriptions (SSUBSCRIBE) reach each shard. */
  | 'subscriber';

const logger = new Logger('Redis');

/** Logs a client's errors at most once every 10 s: an unhandled 'error' event would crash the process. */
function attachErrorListener(client: RedisClient, name: string): void {
  let lastLogged = 0;
  client.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastLogged < 10_000) return;
    lastLogged = now;
    logger.warn(`${name}: ${error.message}`);
  });
}

/** The variable that configures a topology, with the servers it names (never a password), for messages. */
export function redisVariableOf(topology: RedisTopology): string {
  const list = (nodes: RedisNode[]) => nodes.map((node) => `${node.host}:${node.port}`).join(', ');
  switch (topology.topology) {
    case 'cluster':
      return `REDIS_CLUSTER_NODES=${list(topology.nodes)}`;
    case 'sentinel':
      return `REDIS_SENTINELS=${list(topology.sentinels)} with REDIS_SENTINEL_MASTER=${topology.masterName}`;
    case 'single': {
      const url = new URL(topology.url);
      return `REDIS_URL=${url.hostname}:${url.port || 6379}`;
    }
  }
}

/**
 * Options by role. A subscriber skips ioredis' ready check: its users subscribe at once, and a
 * SUBSCRIBE sent while the connection is still being set up (ioredis sends it then: it is allowed
 * while a server loads) turns the check's INFO into an error (ioredis 5, #2037): the connection
 * is failed and made again, and the subscription was lost (a message published after it never
 * came). What the check waits for, a server loading its data, does not hold back a subscription.
 */
function roleOptions(role: RedisRole): RedisOptions {
  if (role === 'producer') return { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 };
  return { maxRetriesPerRequest: null, enableReadyCheck: role !== 'subscriber' };
}

const retryStrategy = (times: number) => Math.min(times * 200, 2000);

// A master that came back as a replica answers READONLY: reconnect (Sentinel names the new master) and resend.
const reconnectOnReadonly = (error: Error) => (error.message.startsWith('READONLY') ? 2 : false);

function credentialsOf(nodes: RedisNode[]): Pick<RedisOptions, 'username' | 'password'> {
  const withPassword = nodes.find((node) => node.password !== undefined);
  return { username: withPassword?.username, password: withPassword?.password };
}

/** Refresh a cluster's slot map this often, to follow a failover within the bounded wait. */
const SLOTS_REFRESH_MS = 2000;

/** ioredis' message for a command or connect on a client that has ended. */
const CONNECTION_CLOSED = 'Connection is closed.';

/** Statuses of a cluster that a drained pool leaves as they are. */
const CLOSED = new Set(['close', 'end', 'reconnecting']);

const serverOf = (node: Redis) => `${node.options.host}:${node.options.port}`;

/**
 * A Cluster that connects, closes and lets go of every socket and timer as it should, where
 * ioredis 5's does not (each seen after a failover, in a worker that stopped taking jobs, a close
 * that did not end, or the test process held open after every app had closed):
 * - A node's connection can drop out of the pool unclosed. When a cluster is disconnected and at
 *   once connected again (BullMQ does so with a worker's blocking connection whose command went
 *   unanswered through the failover), an old connection that closes late (its server is busy)
 *   ends after the new pool has a connection to the same server, and the pool's 'end' handler
 *   removes whatever it holds under that host:port: the new connection, which no quit or
 *   disconnect reaches any more. Here, as in ioredis 6 (#2135), the late 'end' of a connection
 *   the pool has replaced leaves the pool alone.
 * - ioredis' periodic slot refresh (`slotsRefreshInterval`) arms its next round when a refresh
 *   ends, even one that was under way when the cluster was closed: it then fires every interval
 *   for ever. This one stops when the cluster is not ready, and starts again when it is.
 * - A cluster can go back from 'end' to 'close' (below), where it neither reconnects nor ends: a
 *   closing BullMQ worker then waits for its end for ever.
 * - connect() can stay pending for ever although the cluster is ready (below).
 * Its duplicates (BullMQ's blocking connections) are made the same way.
 */
function mendCluster(cluster: Cluster): Cluster {
  cluster.on('+node', (node: Redis) => {
    // The pool listens for the end of each connection it makes, just before announcing it.
    const poolsEnd = node.rawListeners('end').at(-1) as ((...args: unknown[]) => void) | undefined;
    if (!poolsEnd) return;
    node.removeListener('end', poolsEnd);
    node.once('end', (...args: unknown[]) => {
      const replaced = cluster.nodes('all').some((other) => other !== node && serverOf(other) === serverOf(node));
      if (!replaced) poolsEnd.apply(node, args);
    });
  });

  // One chain of refreshes at a time: a refresh still under way when the cluster closes and
  // comes back (ready again) ends its chain instead of starting a second one.
  let timer: NodeJS.Timeout | undefined;
  let chains = 0;
  let live = 0;
  const startRefreshing = () => {
    const chain = (live = ++chains);
    const next = () => {
      timer = setTimeout(() => {
        cluster.refreshSlotsCache(() => {
          if (chain !== live) return;
          if (cluster.status === 'ready') next();
          else live = 0;
        });
      }, SLOTS_REFRESH_MS);
    };
    next();
  };
  cluster.on('ready', () => {
    if (!live) startRefreshing();
  });
  cluster.on('end', () => {
    clearTimeout(timer);
    live = 0;
  });

  // The pool 'drains' each time a connection ends while it holds none, and each drain sets the
  // cluster to 'close'. After a disconnect every old connection that ends drains it again, late
  // ones after the cluster has ended: it goes back from 'end' to 'close', which BullMQ then
  // reconnects. A drain only closes a cluster that is not already closed, ended or waiting to
  // reconnect.
  const pool = (cluster as unknown as { connectionPool: EventEmitter }).connectionPool;
  for (const close of pool.listeners('drain') as Array<() => void>) {
    pool.removeListener('drain', close);
    pool.on('drain', () => {
      if (!CLOSED.has(cluster.status)) close();
    });
  }
  // connect() settles when the cluster is ready or has ended. ioredis' own promise does not when
  // the ready check fails (`cluster_state:fail`, as while a master fails over): the cluster
  // reconnects by itself and becomes ready, but that promise stays pending for ever, and so does
  // BullMQ's reconnect of a worker's blocking connection that awaits it: the worker takes no job
  // again, and its close never ends. Every call waits on one shared promise (ioredis calls
  // connect() again at each retry: one pair of listeners whatever the number of retries).
  const connect = cluster.connect.bind(cluster);
  let readyOrEnded: Promise<void> | null = null;
  const whenReadyOrEnded = () =>
    (readyOrEnded ??= new Promise<void>((resolve, reject) => {
      const onReady = () => settle(resolve);
      const onEnd = () => settle(() => reject(new Error(CONNECTION_CLOSED)));
      const settle = (how: () => void) => {
        cluster.off('ready', onReady).off('end', onEnd);
        readyOrEnded = null;
        how();
      };
      cluster.once('ready', onReady).once('end', onEnd);
    }));
  cluster.connect = () => Promise.race([connect(), whenReadyOrEnded()]);

  const duplicate = cluster.duplicate.bind(cluster);
  cluster.duplicate = (...args: Parameters<Cluster['duplicate']>) => mendCluster(duplicate(...args));
  return cluster;
}

/**
 * A Redis connection set up as BullMQ asks for its role, following the configured topology:
 * one server (`rediss://` and passwords from the URL), a Redis Cluster (credentials and TLS from
 * the node URLs), or the master Sentinel names (the Sentinel URLs' credentials serve the Sentinels
 * and the data nodes alike; TLS for `rediss://`). Every client Dash opens comes from here.
 */
export function createRedis(url: string, role: RedisRole, name: string, extra?: RedisOptions): Redis;
export function createRedis(topology: RedisTopology, role: RedisRole, name: string, extra?: RedisOptions): RedisClient;
export function createRedis(target: string | RedisTopology, role: RedisRole, name: string, extra: RedisOptions = {}): RedisClient {
  const topology: RedisTopology = typeof target === 'string' ? { topology: 'single', url: target } : target;
  const connectionName = `dash:${name}`;
  let client: RedisClient;
  switch (topology.topology) {
    case 'single':
      client = new Redis(topology.url, { ...roleOptions(role), connectionName, retryStrategy, ...extra });
      break;
    case 'sentinel': {
      const tls = topology.sentinels.some((node) => node.tls);
      const { username, password } = credentialsOf(topology.sentinels);
      client = new Redis({
        ...roleOptions(role),
        sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
        name: topology.masterName,
        sentinelUsername: username,
        sentinelPassword: password,
        username,
        password,
        db: topology.sentinels.find((node) => node.db !== undefined)?.db,
        enableTLSForSentinelMode: tls,
        sentinelTLS: tls ? {} : undefined,
        tls: tls ? {} : undefined,
        connectionName,
        retryStrategy,
        sentinelRetryStrategy: retryStrategy,
        reconnectOnError: reconnectOnReadonly,
        ...extra,
      });
      break;
    }
    case 'cluster': {
      const { enableOfflineQueue, ...nodeOptions } = roleOptions(role);
      const options: ClusterOptions = {
        redisOptions: {
          ...nodeOptions,
          ...credentialsOf(topology.nodes),
          tls: topology.nodes.some((node) => node.tls) ? {} : undefined,
          connectionName,
          ...extra,
        },
        enableOfflineQueue: enableOfflineQueue ?? true,
        clusterRetryStrategy: retryStrategy,
        // socket.io's sharded adapter: SSUBSCRIBE goes to the shard owning the channel's slot.
        shardedSubscribers: role === 'subscriber',
        // The slot map's periodic refresh is `mendCluster`'s (ioredis' own outlives a close).
        slotsRefreshInterval: 0,
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        retryDelayOnTryAgain: 200,
      };
      client = mendCluster(new Cluster(topology.nodes.map(({ host, port }) => ({ host, port })), options));
      break;
    }
  }
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
export function coalesceWrites<C extends RedisClient>(client: C): C {
  if (client instanceof Cluster) {
    // Each node's connection is corked on its own; nodes join as the slot map changes.
    for (const node of client.nodes('all')) coalesceWrites(node);
    client.on('+node', (node: Redis) => coalesceWrites(node));
    return client;
  }
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

/**
 * Waits for a client to be ready, or fails after the timeout with the last connection error and,
 * where given, the variable that names the servers (so an operator knows what to fix).
 */
export async function whenReady(client: RedisClient, timeoutMs = 10_000, variable?: string): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    let lastError: string | undefined;
    const timer = setTimeout(() => {
      cleanup();
      const what = variable ? `Redis (${variable})` : 'Redis';
      reject(new Error(`${what} not ready after ${timeoutMs} ms${lastError ? `: ${lastError}` : ''}${variable ? '. Check that the servers it names are up and reachable.' : ''}`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error & { lastNodeError?: Error }) => {
      lastError = error.lastNodeError ? `${error.message} (${error.lastNodeError.message})` : error.message;
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
    };
    client.on('ready', onReady);
    client.on('error', onError);
  });
}



const EVICTING = /^(allkeys|volatile)-/;

/**
 * BullMQ loses jobs when Redis evicts keys. Refuses to run on an evicting policy, with the fix.
 * Reads INFO (CONFIG is often disabled on managed Redis).
 */
export async function assertNoEviction(client: RedisClient, variable = 'REDIS_URL'): Promise<void> {
  // On a cluster every master holds queues: each must refuse to evict.
  const servers: Array<{ name: string; redis: Redis }> =
    client instanceof Cluster ? client.nodes('master').map((redis) => ({ name: ` at ${redis.options.host ?? ''}:${redis.options.port ?? ''}`, redis })) : [{ name: '', redis: client }];
  for (const { name, redis } of servers) {
    const info = await redis.info('memory');
    const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
    if (policy && EVICTING.test(policy)) {
      throw new Error(
        `Redis${name} maxmemory-policy is ${policy} (${variable}): Redis would evict queued events. Set it to noeviction ` +
          `(redis-cli CONFIG SET maxmemory-policy noeviction, or maxmemory-policy noeviction in redis.conf).`,
      );
    }
  }
}

const QUIT_TIMEOUT_MS = 2000;

/**
 * Closes a client gracefully, or at once if QUIT fails or goes unanswered. A client that is closed already, or whose
 * connection closed before QUIT's answer arrived, is left alone: disconnecting it again would start
 * ioredis' 2 s timer for a socket that has already closed, and hold the process that long.
 */
export async function quit(client: RedisClient): Promise<void> {
  const closed = () => client.status === 'end';
  if (closed()) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    // Bounded: a cluster whose node is gone (a failover's old master) may never answer QUIT.
    await Promise.race([client.quit(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('QUIT unanswered')), QUIT_TIMEOUT_MS)))]);
  } catch {
    if (!closed()) client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}


/**
 * Binds the key prefix to this deployment's database, or refuses to start. Two deployments
 * with their own databases on one Redis and one prefix would take each other's jobs, and the
 * events of pipelines a database does not have would be lost to the other. The first node to
 * start claims the prefix for its database (`<prefix>:owner` = the database's deployment id,
 * not its URL, which differs between hosts and pooled and direct connections).
 */
export async function bindKeyPrefix(client: RedisClient, keys: RedisKeys, deploymentId: string): Promise<void> {
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
