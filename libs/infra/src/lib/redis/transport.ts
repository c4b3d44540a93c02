import type { RedisOptions } from '@nestjs/microservices';
import { Transport } from '@nestjs/microservices';

/** Options of the NestJS Redis transport (it takes host and port, not a URL) from `REDIS_URL`. */
export function redisTransport(redisUrl: string): RedisOptions {
  const url = new URL(redisUrl);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
  return {
    transport: Transport.REDIS,
    options: {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : 6379,
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      db: Number.isInteger(db) ? db : undefined,
      tls: url.protocol === 'rediss:' ? {} : undefined,
      // Keep retrying: a Redis restart must not end the subscription for good.
      retryAttempts: Number.MAX_SAFE_INTEGER,
      retryDelay: 1000,
    },
  };
}
