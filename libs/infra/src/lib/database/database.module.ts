import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { DashConfig } from '../config/config';
import { DASH_CONFIG } from '../config/config.module';
import { assertMigrated, createDataSource, createPool, ensureDatabase, migrate, storageModeOf } from './database';
import { PG_POOL, STORAGE_MODE } from './database.tokens';
import { REPOSITORIES } from './repositories/repositories';

export { PG_POOL, STORAGE_MODE } from './database.tokens';

/**
 * The TypeORM data source (entities, migrations, low-volume API), a `pg` pool for hot paths, and
 * the repositories that own the SQL of each table family. At start it creates the database when
 * missing and runs the migrations.
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
      // Depends on DataSource so the schema exists before anyone uses the pool. On a web node it
      // serves the reads (events, stats, series, failures): bounded by READ_TIMEOUT_MS. The ingestor's
      // writer and the migrations (TypeORM's data source) have no statement timeout.
      inject: [DASH_CONFIG, DataSource],
      useFactory: (config: DashConfig) => createPool(config, 10, config.role === 'web' ? config.readTimeoutMs : undefined),
    },
    {
      provide: STORAGE_MODE,
      inject: [PG_POOL],
      useFactory: (pool: Pool) => storageModeOf(pool),
    },
    // Each table family's SQL lives in one repository; services receive them.
    ...REPOSITORIES,
  ],
  exports: [DataSource, PG_POOL, STORAGE_MODE, ...REPOSITORIES],
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
