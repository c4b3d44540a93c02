import { Logger } from '@nestjs/common';
import { getPriority, setPriority } from 'node:os';
import { ConfigError, loadConfig, type AppRole, type DashConfig } from '../config/config';

/** Loads the configuration or stops the process with a message naming the variable. */
export function configOrExit(role: AppRole): DashConfig {
  try {
    return loadConfig(process.env, role);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * Bounds shutdown: after SIGTERM or SIGINT the app's own hooks get `graceMs` to close in
 * order, then the process exits regardless. Unexpected errors are logged, never fatal
 * to a serving process.
 */
export function guardProcess(graceMs = 25_000): void {
  const logger = new Logger('Process');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.log(`${signal}: shutting down`);
      setTimeout(() => {
        logger.error(`shutdown took longer than ${graceMs} ms; exiting`);
        process.exit(1);
      }, graceMs).unref();
    });
  }
  process.on('unhandledRejection', (reason) => logger.error(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`));
}

/**
 * Lowers the CPU priority of this process's main thread, where its work runs, to `nice` (it never
 * raises it: a process started at a higher nice value keeps it). Returns the nice value it runs at.
 * Any process may lower its own priority; if the system refuses, the process runs on unchanged.
 */
export function lowerCpuPriority(nice: number): number {
  const current = getPriority();
  if (nice <= current) return current;
  try {
    setPriority(nice);
    return getPriority();
  } catch (error) {
    new Logger('Process').warn(`could not lower the CPU priority to nice ${nice}: ${(error as Error).message}`);
    return current;
  }
}
