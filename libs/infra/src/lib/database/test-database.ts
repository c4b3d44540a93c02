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

/** A database of its own for one test suite (`dash_t_<label>_<random>`), migrated in the given storage mode. */
export async function createTestDatabase(label: string, storageMode: StorageMode = 'native'): Promise<TestDatabase> {
  const name = `dash_t_${label}_${randomBytes(4).toString('hex')}`;
  const url = new URL(testAdminUrl());
  url.pathname = `/${name}`;
  await ensureDatabase(url.toString());
  const dataSource = createDataSource({ databaseUrl: url.toString(), storageMode });
  await dataSource.initialize();
  try {
    await migrate(dataSource);
  } finally {
    await dataSource.destroy();
  }
  return {
    name,
    url: url.toString(),
    drop: () => dropTestDatabase(name),
  };
}
