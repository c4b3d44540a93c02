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
 * migrated to the latest before the suite (then `later`, the migrations after this one, undone
 * newest first: the suite starts at this migration) and dropped after it.
 */
export function migrationUnderTest(name: string, migration: MigrationInterface, later: readonly MigrationInterface[] = []): MigrationUnderTest {
  let database: TestDatabase | undefined;
  let dataSource: DataSource | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(name);
    dataSource = createDataSource({ databaseUrl: database.url, storageMode: 'native' });
    await dataSource.initialize();
    for (const step of [...later].reverse()) await run(dataSource, step, 'down');
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
    run(step) {
      return run(this.dataSource, migration, step);
    },
  };
}

async function run(dataSource: DataSource, migration: MigrationInterface, step: 'up' | 'down'): Promise<void> {
  const runner = dataSource.createQueryRunner();
  try {
    await migration[step](runner);
  } finally {
    await runner.release();
  }
}
