import 'reflect-metadata';
import type { INestMicroservice, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { createLogger, PinoNestLogger, redisTransport, type DashConfig } from '@dash/infra';
import { IngestorModule } from './ingestor.module';

/** Builds the ingestor: a Nest microservice on the Redis transport, with no listening port. */
export async function createIngestorApp(config: DashConfig, options: { logger?: LogLevel[] | false; shutdownHooks?: boolean } = {}): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(IngestorModule.forRoot(config), {
    ...redisTransport(config.redis, config.role),
    // Unset (main.ts): pino JSON lines per LOG_LEVEL/LOG_FORMAT; in-process tests pass Nest's levels.
    // Given at creation (not buffered for useLogger), so a failure to start is a JSON line too.
    logger: options.logger ?? new PinoNestLogger(createLogger(config)),
  });
  // main.ts handles signals itself (to log the last step and exit); in-process tests use Nest's hooks.
  if (options.shutdownHooks ?? true) app.enableShutdownHooks();
  return app;
}
