import { Logger } from '@nestjs/common';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { DashConfig } from '../config/config';
import { ENTITIES } from './entities';
import { CoreSchema1732752000000 } from './migrations/1732752000000-core-schema';
import { eventStorageMigration, type ResolvedStorageMode } from './migrations/1732752000001-event-storage';
import { Retention1732752000002 } from './migrations/1732752000002-retention';
import { Tokens1732752000006 } from './migrations/1732752000006-tokens';

const logger = new Logger('Database');

/** Creates the database named in the URL when it does not exist (connecting to `postgres` to do it). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) return false;
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    } catch (error) {
      // Another process created it at the same moment.
      if (!['42P04', '23505'].includes((error as { code?: string }).code ?? '')) throw error;
      return false;
    }
    logger.log(`created database ${name}`);
    return true;
  } finally {
    await client.end();
  }
}

export function createDataSource(config: Pick<DashConfig, 'databaseUrl' | 'storageMode'>): DataSource {
  return new DataSource({
    type: 'postgres',
    url: config.databaseUrl,
    entities: ENTITIES,
    migrations: [CoreSchema1732752000000, eventStorageMigration(config.storageMode), Retention1732752000002, Tokens1732752000006],
    migrationsTableName: 'dash_migrations',
    migrationsTransactionMode: 'each',
    extra: { max: 5, application_name: 'dash' },
  });
}

/** Runs pending migrations under an advisory lock, so that nodes starting together migrate once. */
export async function migrate(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext('dash_migrations'))`);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    for (const migration of applied) logger.log(`applied migration ${migration.name}`);
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(hashtext('dash_migrations'))`).catch(() => undefined);
    await runner.release();
  }
}

/** The storage mode chosen when the events table was created. */
export async function storageModeOf(pool: Pool): Promise<ResolvedStorageMode> {
  const { rows } = await pool.query<{ value: ResolvedStorageMode }>(`SELECT value FROM dash_meta WHERE key = 'storage_mode'`);
  return rows[0]?.value ?? 'native';
}

/** The pool for hot paths (bulk writes, stats reads), beside TypeORM's for entities. */
export function createPool(config: Pick<DashConfig, 'databaseUrl' | 'role'>, max = 10): Pool {
  const pool = new Pool({ connectionString: config.databaseUrl, max, application_name: `dash-${config.role}` });
  // An idle client losing its connection (PostgreSQL restart) must not crash the process.
  pool.on('error', (error) => logger.warn(`idle PostgreSQL client: ${error.message}`));
  return pool;
}
