import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { DashConfig } from '../config/config';
import { DASH_CONFIG } from '../config/config.module';
import { RedisKeys } from './keys';
import { assertNoEviction, coalesceWrites, createRedis, quit, whenReady } from './redis';

/** A fail-fast connection for commands (enqueue, counters, heartbeats). */
export const REDIS = Symbol('REDIS');

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [DASH_CONFIG],
      useFactory: async (config: DashConfig) => {
        const client = coalesceWrites(createRedis(config.redisUrl, 'producer', `${config.role}-commands`));
        await whenReady(client);
        await assertNoEviction(client);
        return client;
      },
    },
    { provide: RedisKeys, inject: [DASH_CONFIG], useFactory: (config: DashConfig) => new RedisKeys(config.keyPrefix) },
  ],
  exports: [REDIS, RedisKeys],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await quit(this.redis);
  }
}
