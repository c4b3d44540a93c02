import { ClientRedis, ServerRedis, type CustomClientOptions, type CustomStrategy } from '@nestjs/microservices';
import type { Redis, RedisOptions } from 'ioredis';
import type { RedisTopology } from '../config/config';
import { createRedis, quit, type RedisClient } from './redis';

/** What the transport's clients are opened with: the configured topology, and a name for CLIENT LIST. */
export interface TransportOptions {
  topology: RedisTopology;
  name: string;
}

/** Nest's own reconnection settings, kept for its status events: the factory's clients retry forever anyway. */
const NEST_RETRY = { retryAttempts: Number.MAX_SAFE_INTEGER, retryDelay: 1000 };

/**
 * A client of the transport, opened by the one factory (`createRedis`) on any topology. The
 * transport is plain PUBLISH/SUBSCRIBE: on a cluster every node hears every publish, and ioredis'
 * `Cluster` subscribes through one node, moving to another (and subscribing again) when that node
 * goes, as in a failover. Nest calls `connect()` on clients it expects lazy: the factory's client
 * is connecting already, so that first `connect()` waits for it instead.
 */
function transportClient(options: TransportOptions, side: 'pub' | 'sub'): Redis {
  // Publishing keeps ioredis' default of 20 retries, as before: an announcement during an outage
  // fails (its callers log and go on) instead of holding a request forever.
  const extra: RedisOptions = side === 'pub' ? { maxRetriesPerRequest: 20 } : {};
  const client: RedisClient = createRedis(options.topology, 'worker', `${options.name}-transport-${side}`, extra);
  // Nest calls connect() once, right after making the client; ioredis calls it again for every
  // reconnection, so only that first call is answered by waiting for the connection under way.
  const connect = client.connect.bind(client);
  client.connect = () => {
    client.connect = connect;
    return new Promise<void>((resolve) => {
      if (client.status === 'ready') resolve();
      else client.once('ready', () => resolve());
    });
  };
  // Nest types its clients as ioredis' Redis; a Cluster serves every call the transport makes
  // (publish, subscribe, 'message', quit, status events).
  return client as Redis;
}

/**
 * Closes a side's clients with the factory's bounded `quit`: Nest's own `close()` awaits QUIT
 * unbounded, which a cluster whose node was killed and came back may never answer, and an app
 * being stopped would wait on it forever.
 */
async function quitAll(...clients: Array<Redis | null | undefined>): Promise<void> {
  await Promise.all(clients.filter((client): client is Redis => !!client).map((client) => quit(client)));
}

/** The NestJS Redis transport's server side (`@EventPattern` handlers), on the configured topology. */
export class DashRedisServer extends ServerRedis {
  constructor(private readonly transport: TransportOptions) {
    super(NEST_RETRY);
  }

  override async close(): Promise<void> {
    this.isManuallyClosed = true;
    await quitAll(this.pubClient, this.subClient);
    this.pendingEventListeners = [];
  }

  override createRedisClient(): Redis {
    return transportClient(this.transport, this.subClient ? 'pub' : 'sub');
  }

  /** The factory's listener logs a client's errors, at most once every 10 s; Nest's logged each one. */
  override registerErrorListener(): void {
    // nothing more to add
  }
}

/** The NestJS Redis transport's client side (`emit`), on the configured topology. */
export class DashRedisClient extends ClientRedis {
  constructor(private readonly transport: TransportOptions) {
    super(NEST_RETRY);
  }

  override async close(): Promise<void> {
    this.isManuallyClosed = true;
    this.handleClose();
    await quitAll(this.pubClient, this.subClient);
    this.pubClient = this.subClient = null as unknown as Redis;
    this.pendingEventListeners = [];
  }

  override createClient(): Redis {
    return transportClient(this.transport, this.pubClient && !this.subClient ? 'sub' : 'pub');
  }

  /** The factory's listener logs a client's errors, at most once every 10 s; Nest's logged each one. */
  override registerErrorListener(): void {
    // nothing more to add
  }
}

/** The transport's server, for `createMicroservice` / `connectMicroservice`. */
export function redisTransport(topology: RedisTopology, name: string): CustomStrategy {
  return { strategy: new DashRedisServer({ topology, name }) };
}

/** The transport's client, for `ClientProxyFactory.create`. */
export function redisTransportClient(topology: RedisTopology, name: string): CustomClientOptions {
  // Nest types customClass as a ClientProxy of string statuses; ClientRedis narrows them to RedisStatus.
  return { customClass: DashRedisClient as unknown as CustomClientOptions['customClass'], options: { topology, name } satisfies TransportOptions };
}
