import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { deploymentIdOf } from '../database/database';
import type { DashConfig } from '../config/config';
import { DASH_CONFIG } from '../config/config.module';
import { RedisKeys } from './keys';
import { assertNoEviction, bindKeyPrefix, coalesceWrites, createRedis, quit, redisVariableOf, whenReady, type RedisClient } from './redis';

/** A fail-fast connection for commands (enqueue, counters, heartbeats). */
export const REDIS = Symbol('REDIS');

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      // After the database (migrated, with its identity): nothing using Redis starts before the prefix is bound.
      inject: [DASH_CONFIG, DataSource],
      useFactory: async (config: DashConfig, dataSource: DataSource) => {
        const client = coalesceWrites(createRedis(config.redis, 'producer', `${config.role}-commands`));
        try {
          const variable = redisVariableOf(config.redis);
          await whenReady(client, 10_000, variable);
          await assertNoEviction(client, variable);
          const keys = new RedisKeys(config.keyPrefix);
          const deploymentId = await deploymentIdOf(dataSource);
          await bindKeyPrefix(client, keys, deploymentId);
          // A Redis that restarted empty lost the binding: claim it again on every reconnect.
          client.on('ready', () => void bindKeyPrefix(client, keys, deploymentId).catch((error: Error) => new Logger('Redis').error(error.message)));
        } catch (error) {
          client.disconnect();
          throw error;
        }
        return client;
      },
    },
    { provide: RedisKeys, inject: [DASH_CONFIG], useFactory: (config: DashConfig) => new RedisKeys(config.keyPrefix, config.queues.partitions) },
  ],
  exports: [REDIS, RedisKeys],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisClient) {}

  async onApplicationShutdown(): Promise<void> {
    await quit(this.redis);
  }
}
