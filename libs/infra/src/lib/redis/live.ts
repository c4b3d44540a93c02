import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { ServerToClientEvents } from '@dash/domain';
import { Server } from 'socket.io';
import type { RedisKeys } from './keys';

/**
 * Which socket.io Redis adapter carries live updates between the nodes:
 * - `sharded`: Redis 7 sharded pub/sub (SPUBLISH/SSUBSCRIBE). A room has its own channel, kept on
 *   the one shard its name hashes to, and a node subscribes only to the rooms it has sockets in.
 * - `classic`: PUBLISH, every node pattern-subscribed to every room (on a cluster, every message
 *   crosses every node's bus, and the node decodes the channel name of every room).
 */
export type LiveAdapterKind = 'classic' | 'sharded';

/**
 * The adapter for a Redis of this version: sharded pub/sub wherever Redis has it (7.0+), on every
 * topology. On a cluster it is the only one that spreads the rooms over the shards; on one Redis
 * (also followed through Sentinel) it cost less CPU in the web nodes, the ingestors and Redis than
 * the classic one in bench/live-adapters.mjs (docs/performance.md). Redis 6.2 has no sharded
 * pub/sub: the classic adapter there. Every node of a deployment meets the same Redis, so all
 * choose the same adapter.
 */
export function liveAdapterKind(redisVersion: string): LiveAdapterKind {
  const major = Number(/^(\d+)\./.exec(redisVersion)?.[1]);
  return Number.isFinite(major) && major >= 7 ? 'sharded' : 'classic';
}

/** `redis_version` of the server a client answers from (INFO; CONFIG is often disabled on managed Redis). */
export async function redisVersionOf(client: { info(section: 'server'): Promise<string> }): Promise<string> {
  return /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? '0';
}

/**
 * The clients the adapter publishes and subscribes with: ioredis `Redis`, or a `Cluster` made with
 * `shardedSubscribers: true` (it keeps one subscriber per shard and subscribes again after a
 * failover or a slot's move). The adapter speaks to ioredis by itself (`ssubscribe`, `smessageBuffer`).
 */
export type LiveRedisClient = object;

/** What `Server#adapter` takes. */
export type LiveAdapter = NonNullable<Parameters<Server['adapter']>[0]>;

/** The socket.io adapter every Dash process (web and ingestor) attaches, on one channel prefix. */
export function createLiveAdapter(kind: LiveAdapterKind, pub: LiveRedisClient, sub: LiveRedisClient, keys: RedisKeys): LiveAdapter {
  // The channel names carry no hash tag: each room's channel hashes to a slot of its own, so the
  // rooms spread over the shards.
  return kind === 'sharded'
    ? createShardedAdapter(pub, sub, { channelPrefix: keys.socketio, subscriptionMode: 'dynamic' })
    : createAdapter(pub, sub, { key: keys.socketio });
}

/**
 * A socket.io server that does not listen, with the adapter attached: an ingestor's `to(room).emit`
 * goes out through the same adapter (and channels) the web nodes receive on. With no sockets of its
 * own it subscribes to no room, so it receives no update.
 */
export function createLiveBroadcaster(kind: LiveAdapterKind, pub: LiveRedisClient, sub: LiveRedisClient, keys: RedisKeys): Server<Record<string, never>, ServerToClientEvents> {
  const server = new Server<Record<string, never>, ServerToClientEvents>({ serveClient: false });
  server.adapter(createLiveAdapter(kind, pub, sub, keys));
  return server;
}
