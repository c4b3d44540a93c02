import { Logger } from '@nestjs/common';
import { configOrExit, guardProcess, lowerCpuPriority } from '@dash/infra';
import { createIngestorApp } from './app';

/** The ingestor: BullMQ processors, buffers and the bulk writer. It opens no listening port. */
async function bootstrap(): Promise<void> {
  const config = configOrExit('ingestor');
  guardProcess();
  // Optional (INGESTOR_NICE): on a host shared with the web app, webhooks get the CPU first and the
  // ingestor takes the idle cycles, with more work per run. It costs freshness when the host is busy
  // with other work, so it is off by default (docs/performance.md).
  const nice = lowerCpuPriority(config.ingestorNice);
  const logger = new Logger('Ingestor');
  const app = await createIngestorApp(config, { shutdownHooks: false });
  // SIGTERM/SIGINT: Nest's hooks run in order (worker and buffers first, then Redis and the
  // database); guardProcess bounds the whole to 25 s.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      app.close().then(
        () => {
          logger.log('shutdown 5/5: Redis and database closed; exiting');
          process.exit(0);
        },
        (error: Error) => {
          logger.error(`shutdown failed: ${error.message}`);
          process.exit(1);
        },
      );
    });
  }
  await app.listen();
  logger.log(`ingestor ${config.nodeId} running (region ${config.region}, ${config.buffer.partitions} buffers, concurrency ${config.queues.pipelines}, nice ${nice})`);
}

void bootstrap().catch((error: Error) => {
  new Logger('Ingestor').error(`could not start: ${error.message}`);
  process.exit(1);
});
