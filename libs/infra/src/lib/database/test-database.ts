import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { StorageMode } from '../config/config';
import { createDataSource, ensureDatabase, migrate } from './database';

export interface TestDatabase {
  name: string;
  url: string;
  /** Drops the database, closing whatever connections are left. */
  drop(): Promise<void>;
}

/** The server tests use: `TEST_PG_ADMIN_URL`, by default the local one. */
export const testAdminUrl = (): string => process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Drops a test database, closing whatever connections are left. */
export async function dropTestDatabase(name: string): Promise<void> {
  const admin = new Client({ connectionString: testAdminUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** The URL of database `name` on the tests' server. */
export function testDatabaseUrl(name: string): string {
  const url = new URL(testAdminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates the database when missing and migrates it in the given storage mode, as a node starting would. */
export async function migrateDatabase(databaseUrl: string, storageMode: StorageMode): Promise<void> {
  await ensureDatabase(databaseUrl);
  const dataSource = createDataSource({ databaseUrl, storageMode });
  await dataSource.initialize();
  try {
    await migrate(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/** A database of its own for one test suite (`dash_t_<label>_<random>`), migrated in the given storage mode. */
export async function createTestDatabase(label: string, storageMode: StorageMode = 'native'): Promise<TestDatabase> {
  const name = `dash_t_${label}_${randomBytes(4).toString('hex')}`;
  const url = testDatabaseUrl(name);
  await migrateDatabase(url, storageMode);
  return { name, url, drop: () => dropTestDatabase(name) };
}
