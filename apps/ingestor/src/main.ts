import { Logger } from '@nestjs/common';
import { configOrExit, guardProcess } from '@dash/infra';
import { createIngestorApp } from './app';

/** The ingestor: BullMQ processors, buffers and the bulk writer. It opens no listening port. */
async function bootstrap(): Promise<void> {
  const config = configOrExit('ingestor');
  guardProcess();
  const app = await createIngestorApp(config);
  await app.listen();
  new Logger('Ingestor').log(`ingestor ${config.nodeId} running (region ${config.region}, ${config.buffer.partitions} buffers, concurrency ${config.queues.pipelines})`);
}

void bootstrap();
