import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createRedis, quit, type DashConfig, RedisKeys } from '@dash/infra';
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
  private pub: Redis | null = null;
  private sub: Redis | null = null;

  constructor(
    app: INestApplicationContext,
    private readonly config: DashConfig,
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
    this.pub = createRedis(this.config.redisUrl, 'worker', 'socket.io-pub');
    this.sub = createRedis(this.config.redisUrl, 'worker', 'socket.io-sub');
    const adapter = createAdapter(this.pub, this.sub, { key: new RedisKeys(this.config.keyPrefix).socketio });
    server.adapter(adapter);
    return server;
  }

  override async close(server: Server): Promise<void> {
    await super.close(server);
    if (this.pub) await quit(this.pub);
    if (this.sub) await quit(this.sub);
  }
}
