import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { configOrExit, guardProcess, redisTransport } from '@dash/infra';
import { IngestorModule } from './ingestor.module';

/** The ingestor: BullMQ processors, buffers and the bulk writer. It opens no listening port. */
async function bootstrap(): Promise<void> {
  const config = configOrExit('ingestor');
  guardProcess();
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(IngestorModule.forRoot(config), {
    ...redisTransport(config.redisUrl),
    logger: ['log', 'warn', 'error'],
  });
  app.enableShutdownHooks();
  await app.listen();
  new Logger('Ingestor').log(`ingestor ${config.nodeId} running (region ${config.region}, ${config.buffer.partitions} buffers, concurrency ${config.queues.pipelines})`);
}

void bootstrap();
