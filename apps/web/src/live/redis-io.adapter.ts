import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { SocketEvent, type DataUpdated } from '@dash/domain';
import type { DashMetrics, RedisKeys } from '@dash/infra';
import type { Redis } from 'ioredis';
import type { Server, ServerOptions } from 'socket.io';

/** Largest socket message a client may send (subscribe requests are tiny). */
const MAX_MESSAGE_BYTES = 16 * 1024;

/**
 * socket.io over the Redis adapter: an update published by any ingestor (through the
 * emitter) or any web node reaches sockets on every web node. WebSocket transport only,
 * so no sticky sessions are needed behind a load balancer.
 */
export class RedisIoAdapter extends IoAdapter {
  /** `pub` and `sub` come from the queues module (the worker and subscriber connections), which closes them. */
  constructor(
    app: INestApplicationContext,
    private readonly connections: { pub: Redis; sub: Redis; keys: RedisKeys },
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
    const { pub, sub, keys } = this.connections;
    const adapter = createAdapter(pub, sub, { key: keys.socketio });
    server.adapter(adapter);
    if (this.metrics) observePubsubLatency(server, this.metrics);
    return server;
  }
}

interface Parser {
  encode(value: unknown): unknown;
  decode(message: unknown): unknown;
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
 * Calls `listener` with each `data_updated` that reaches this node from Redis. The Redis adapter
 * decodes a broadcast only for a room this node has sockets in, so this costs nothing without
 * viewers. A server on another adapter (no parser) never calls it.
 */
export function onArrivedUpdate(server: Server, listener: (update: Partial<DataUpdated>) => void): void {
  const adapter = server.of('/').adapter as unknown as { parser?: Parser };
  const parser = adapter.parser;
  if (!parser) return;
  adapter.parser = {
    encode: (value) => parser.encode(value),
    decode: (message) => {
      const args = parser.decode(message);
      // A broadcast is [uid, packet, opts]; requests between nodes are objects.
      if (Array.isArray(args)) {
        const data = (args[1] as { data?: unknown[] } | undefined)?.data;
        if (data?.[0] === SocketEvent.DataUpdated && data[1] && typeof data[1] === 'object') {
          try {
            listener(data[1] as Partial<DataUpdated>);
          } catch {
            // A listener's problem must not stop the update reaching the sockets.
          }
        }
      }
      return args;
    },
  };
}
