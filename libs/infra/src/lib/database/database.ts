import { Logger } from '@nestjs/common';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { DashConfig } from '../config/config';
import { ENTITIES } from './entities';
import { CoreSchema1732752000000 } from './migrations/1732752000000-core-schema';
import { eventStorageMigration, type ResolvedStorageMode } from './migrations/1732752000001-event-storage';
import { Retention1732752000002 } from './migrations/1732752000002-retention';
import { LateEventRefresh1732752000004 } from './migrations/1732752000004-late-event-refresh';
import { Alerts1732752000005 } from './migrations/1732752000005-alerts';
import { Tokens1732752000006 } from './migrations/1732752000006-tokens';
import { DeploymentIdentity1733270400000 } from './migrations/1733270400000-deployment-identity';
import { FieldCatalog1733356800024 } from './migrations/1733356800024-field-catalog';
import { Dimensions1733356800025 } from './migrations/1733356800025-dimensions';
import { AlertFlapping1765065600000 } from './migrations/1765065600000-alert-flapping';
import { RollupFillfactor1765152000000 } from './migrations/1765152000000-rollup-fillfactor';
import { MeasuresInRow1765238400000 } from './migrations/1765238400000-measures-in-row';
import { DayRollupsCompacted1765324800000 } from './migrations/1765324800000-day-rollups-compacted';
import { RollupBlocks1765411200000 } from './migrations/1765411200000-rollup-blocks';

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
    migrations: [
      CoreSchema1732752000000,
      eventStorageMigration(config.storageMode),
      Retention1732752000002,
      LateEventRefresh1732752000004,
      Alerts1732752000005,
      Tokens1732752000006,
      DeploymentIdentity1733270400000,
      FieldCatalog1733356800024,
      Dimensions1733356800025,
      AlertFlapping1765065600000,
      RollupFillfactor1765152000000,
      MeasuresInRow1765238400000,
      DayRollupsCompacted1765324800000,
      RollupBlocks1765411200000,
    ],
    migrationsTableName: 'dash_migrations',
    migrationsTransactionMode: 'each',
    extra: { max: 5, application_name: 'dash', ...POOL_RECYCLING },
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

/**
 * `DASH_MIGRATE=off`: a node does not migrate; it refuses to start on a schema behind its code
 * (the release's migrate step has not run), rather than fail on its first query.
 */
export async function assertMigrated(dataSource: DataSource): Promise<void> {
  if (await dataSource.showMigrations()) {
    throw new Error('the database schema is behind this release: run the migrate entry point first (`node scripts/launch.js migrate`; on Fly the web app\'s release_command does it), or set DASH_MIGRATE=boot');
  }
}

/** Creates the database when missing and applies every pending migration: the `migrate` entry point, or a node's start with DASH_MIGRATE=boot. */
export async function runReleaseMigrations(config: Pick<DashConfig, 'databaseUrl' | 'storageMode'>): Promise<string[]> {
  await ensureDatabase(config.databaseUrl);
  const dataSource = createDataSource(config);
  await dataSource.initialize();
  try {
    const before = new Set((await dataSource.query<Array<{ name: string }>>(`SELECT name FROM dash_migrations`).catch(() => [])).map((row) => row.name));
    await migrate(dataSource);
    const after = (await dataSource.query<Array<{ name: string }>>(`SELECT name FROM dash_migrations ORDER BY id`)).map((row) => row.name);
    return after.filter((name) => !before.has(name));
  } finally {
    await dataSource.destroy();
  }
}

/** The storage mode chosen when the events table was created. */
export async function storageModeOf(pool: Pool): Promise<ResolvedStorageMode> {
  const { rows } = await pool.query<{ value: ResolvedStorageMode }>(`SELECT value FROM dash_meta WHERE key = 'storage_mode'`);
  return rows[0]?.value ?? 'native';
}

/**
 * Connections are recycled: none lives past 30 minutes and an idle one closes after 30 s. Behind a
 * pooler or a failover (Fly's proxy, PgBouncer, a promoted replica) a connection held forever can
 * keep talking to a server that is no longer the primary, and idle ones hold server slots.
 */
export const POOL_RECYCLING = { maxLifetimeSeconds: 1800, idleTimeoutMillis: 30_000 } as const;

/**
 * The pool for hot paths (bulk writes, stats reads), beside TypeORM's for entities. With
 * `statementTimeoutMs` (the web's read pool) PostgreSQL itself cancels a statement running longer
 * (SQLSTATE 57014): sent as a startup parameter, it costs no round trip per query, and unlike pg's
 * client-side `query_timeout` it stops the work on the server rather than only the wait for it.
 * Waiting for a connection of the pool is bounded the same way, so a read never hangs in the queue.
 */
export function createPool(config: Pick<DashConfig, 'databaseUrl' | 'role'>, max = 10, statementTimeoutMs?: number): Pool {
  const pool = new Pool({
    connectionString: config.databaseUrl,
    max,
    application_name: `dash-${config.role}`,
    // A read also waits no longer than that for a free connection ("timeout exceeded when trying to connect").
    ...(statementTimeoutMs === undefined ? {} : { statement_timeout: statementTimeoutMs, connectionTimeoutMillis: statementTimeoutMs }),
    ...POOL_RECYCLING,
  });
  // An idle client losing its connection (PostgreSQL restart) must not crash the process.
  pool.on('error', (error) => logger.warn(`idle PostgreSQL client: ${error.message}`));
  return pool;
}

/** This database's identity, made by the migrations: what a Redis key prefix is bound to. */
export async function deploymentIdOf(dataSource: DataSource): Promise<string> {
  const rows = (await dataSource.query(`SELECT value FROM dash_meta WHERE key = 'deployment_id'`)) as Array<{ value: string }>;
  if (!rows[0]) throw new Error('dash_meta has no deployment_id: the database is not migrated');
  return rows[0].value;
}
