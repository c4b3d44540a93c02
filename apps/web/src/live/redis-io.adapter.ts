import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { SocketEvent, type DataUpdated } from '@dash/domain';
import { createLiveAdapter, type DashMetrics, type LiveAdapterKind, type LiveRedisClient, type RedisKeys } from '@dash/infra';
import type { Server, ServerOptions } from 'socket.io';

/** Largest socket message a client may send (subscribe requests are tiny). */
const MAX_MESSAGE_BYTES = 16 * 1024;

/**
 * socket.io over the Redis adapter (`createLiveAdapter`: sharded pub/sub or the classic one): an
 * update published by any ingestor (through a socket.io server of its own on the same adapter) or
 * any web node reaches sockets on every web node. WebSocket transport only, so no sticky sessions
 * are needed behind a load balancer.
 */
export class RedisIoAdapter extends IoAdapter {
  /** `pub` and `sub` come from the queues module (the worker and subscriber connections), which closes them. */
  constructor(
    app: INestApplicationContext,
    private readonly connections: { kind: LiveAdapterKind; pub: LiveRedisClient; sub: LiveRedisClient; keys: RedisKeys },
    private readonly metrics?: DashMetrics,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, {
      ...options,
      transports: ['websocket'],
      maxHttpBufferSize: MAX_MESSAGE_BYTES,
      cors: { origin: true, credentials: false },
    }) as Server;
    const { kind, pub, sub, keys } = this.connections;
    server.adapter(createLiveAdapter(kind, pub, sub, keys));
    if (this.metrics) observePubsubLatency(server, this.metrics);
    return server;
  }
}

interface Parser {
  encode(value: unknown): unknown;
  decode(message: unknown): unknown;
}

/** A message between nodes as the sharded adapter (socket.io's ClusterAdapter) receives it. */
interface ClusterMessage {
  type?: unknown;
  data?: { packet?: { data?: unknown[] } };
}

/**
 * `dash_pubsub_latency_seconds`: from a batch's commit (`committedAt`, set by the ingestor) to the
 * moment its update arrives here from Redis.
 */
function observePubsubLatency(server: Server, metrics: DashMetrics): void {
  onArrivedUpdate(server, (update) => {
    const committedAt = Date.parse(update.committedAt ?? '');
    if (Number.isFinite(committedAt)) metrics.pubsubLatency.observe(Math.max(0, Date.now() - committedAt) / 1000);
  });
}

/**
 * Calls `listener` with each `data_updated` that reaches this node from Redis. Either adapter
 * hands this node only the broadcasts of rooms it has sockets in (the sharded one subscribes to
 * those rooms alone, the classic one drops the others by channel name before decoding), so this
 * costs nothing without viewers. A server on another adapter never calls it.
 */
export function onArrivedUpdate(server: Server, listener: (update: Partial<DataUpdated>) => void): void {
  const observe = (data: unknown[] | undefined) => {
    if (data?.[0] !== SocketEvent.DataUpdated || !data[1] || typeof data[1] !== 'object') return;
    try {
      listener(data[1] as Partial<DataUpdated>);
    } catch {
      // A listener's problem must not stop the update reaching the sockets.
    }
  };
  const adapter = server.of('/').adapter as unknown as { parser?: Parser; onMessage?: (message: ClusterMessage, offset?: string) => unknown };
  const parser = adapter.parser;
  if (parser) {
    // Classic: a broadcast is decoded by the parser as [uid, packet, opts]; requests between nodes are objects.
    adapter.parser = {
      encode: (value) => parser.encode(value),
      decode: (message) => {
        const args = parser.decode(message);
        if (Array.isArray(args)) observe((args[1] as { data?: unknown[] } | undefined)?.data);
        return args;
      },
    };
    return;
  }
  const onMessage = adapter.onMessage;
  if (!onMessage) return;
  // Sharded: every message from another node passes through onMessage, decoded.
  adapter.onMessage = function (this: unknown, message: ClusterMessage, offset?: string) {
    observe(message?.data?.packet?.data);
    return onMessage.call(this, message, offset);
  };
}
