import type { DataSource, MigrationInterface } from 'typeorm';
import { createDataSource } from '../lib/database/database';
import { createTestDatabase, type TestDatabase } from './test-database';

/** What a migration's spec works with: its migrated database, and the migration's up or down run on it again. */
export interface MigrationUnderTest {
  readonly dataSource: DataSource;
  run(step: 'up' | 'down'): Promise<void>;
}

/**
 * For a migration's integration spec (call it inside `describe`): a database of its own, made and
 * migrated to the latest before the suite and dropped after it.
 */
export function migrationUnderTest(name: string, migration: MigrationInterface): MigrationUnderTest {
  let database: TestDatabase | undefined;
  let dataSource: DataSource | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(name);
    dataSource = createDataSource({ databaseUrl: database.url, storageMode: 'native' });
    await dataSource.initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  return {
    get dataSource(): DataSource {
      if (!dataSource) throw new Error('the database is made in beforeAll');
      return dataSource;
    },
    async run(step) {
      const runner = this.dataSource.createQueryRunner();
      try {
        await migration[step](runner);
      } finally {
        await runner.release();
      }
    },
  };
}
