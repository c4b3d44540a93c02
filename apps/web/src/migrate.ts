import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { configOrExit, createLogger, PinoNestLogger, runReleaseMigrations } from '@dash/infra';

/**
 * The `migrate` entry point (`node scripts/launch.js migrate`): creates the database when missing
 * and applies every pending migration, once per release (Fly's `release_command`), before any node
 * of the release starts. Nodes started with DASH_MIGRATE=off (production's default) only check.
 */
async function main(): Promise<void> {
  const config = configOrExit('web');
  const logger = createLogger(config);
  Logger.overrideLogger(new PinoNestLogger(logger));
  try {
    const applied = await runReleaseMigrations(config);
    logger.info({ applied }, applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'the database schema is up to date');
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, `migration failed: ${(error as Error).message}`);
    process.exit(1);
  }
}

void main();
