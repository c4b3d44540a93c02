import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { DashConfig } from '../config/config';
import { DASH_CONFIG } from '../config/config.module';
import { assertMigrated, createDataSource, createPool, ensureDatabase, migrate, storageModeOf } from './database';

export const PG_POOL = Symbol('PG_POOL');
export const STORAGE_MODE = Symbol('STORAGE_MODE');

/**
 * The TypeORM data source (entities, migrations, low-volume API) and a `pg` pool for hot
 * paths. At start it creates the database when missing and runs the migrations.
 */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [DASH_CONFIG],
      useFactory: async (config: DashConfig) => {
        // DASH_MIGRATE=boot (npm start, tests): create and migrate here; off (production): a release step did.
        if (config.migrate === 'boot') await ensureDatabase(config.databaseUrl);
        const dataSource = createDataSource(config);
        await dataSource.initialize();
        if (config.migrate === 'boot') await migrate(dataSource);
        else await assertMigrated(dataSource);
        return dataSource;
      },
    },
    {
      provide: PG_POOL,
      // Depends on DataSource so the schema exists before anyone uses the pool.
      inject: [DASH_CONFIG, DataSource],
      useFactory: (config: DashConfig) => createPool(config),
    },
    {
      provide: STORAGE_MODE,
      inject: [PG_POOL],
      useFactory: (pool: Pool) => storageModeOf(pool),
    },
  ],
  exports: [DataSource, PG_POOL, STORAGE_MODE],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  // Runs after every other module's shutdown hooks (workers and buffers flush first).
  async onApplicationShutdown(): Promise<void> {
    await this.pool.end().catch(() => undefined);
    if (this.dataSource.isInitialized) await this.dataSource.destroy().catch(() => undefined);
  }
}
