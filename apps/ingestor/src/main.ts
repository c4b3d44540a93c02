import { Logger } from '@nestjs/common';
import { configOrExit, guardProcess } from '@dash/infra';
import { createIngestorApp } from './app';

/** The ingestor: BullMQ processors, buffers and the bulk writer. It opens no listening port. */
async function bootstrap(): Promise<void> {
  const config = configOrExit('ingestor');
  guardProcess();
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
  logger.log(`ingestor ${config.nodeId} running (region ${config.region}, ${config.buffer.partitions} buffers, concurrency ${config.queues.pipelines})`);
}

void bootstrap().catch((error: Error) => {
  new Logger('Ingestor').error(`could not start: ${error.message}`);
  process.exit(1);
});
