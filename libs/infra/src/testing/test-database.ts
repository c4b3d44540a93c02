import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { StorageMode } from '../lib/config/config';
import { createDataSource, ensureDatabase, migrate } from '../lib/database/database';

export interface TestDatabase {
  name: string;
  url: string;
  /** Drops the database, closing whatever connections are left. */
  drop(): Promise<void>;
}

/**
 * The servers tests run on: `postgres`, stock PostgreSQL (`TEST_PG_ADMIN_URL`, by default the
 * local one on 5432; the default everywhere), and `timescaledb`, a server with TimescaleDB
 * preloaded (`TEST_TIMESCALE_URL`, by default 5433, as `../shared/scripts/timescaledb.sh` runs it).
 * A TimescaleDB server that does not answer fails the suites that use it: it is never skipped.
 */
export type TestServer = 'postgres' | 'timescaledb';

/** Each server with the storage mode Dash picks on it: the table storage suites run `describe.each` over. */
export const STORAGE_SERVERS: ReadonlyArray<{ server: TestServer; storageMode: 'native' | 'timescale' }> = [
  { server: 'postgres', storageMode: 'native' },
  { server: 'timescaledb', storageMode: 'timescale' },
];

/** The admin URL of a test server. */
export const testAdminUrl = (server: TestServer = 'postgres'): string =>
  server === 'timescaledb'
    ? (process.env.TEST_TIMESCALE_URL ?? 'postgres://postgres@127.0.0.1:5433/postgres')
    : (process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');

/** Drops a test database, closing whatever connections are left. */
export async function dropTestDatabase(name: string, server: TestServer = 'postgres'): Promise<void> {
  const admin = new Client({ connectionString: testAdminUrl(server) });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** The URL of database `name` on a test server. */
export function testDatabaseUrl(name: string, server: TestServer = 'postgres'): string {
  const url = new URL(testAdminUrl(server));
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

/** A database of its own for one test suite (`dash_t_<label>_<random>`) on a test server, migrated in the given storage mode. */
export async function createTestDatabase(label: string, storageMode: StorageMode = 'native', server: TestServer = 'postgres'): Promise<TestDatabase> {
  const name = `dash_t_${label}_${randomBytes(4).toString('hex')}`;
  const url = testDatabaseUrl(name, server);
  await migrateDatabase(url, storageMode);
  return { name, url, drop: () => dropTestDatabase(name, server) };
}
