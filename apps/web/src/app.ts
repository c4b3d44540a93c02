import 'reflect-metadata';
import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createLogger, DashMetrics, liveAdapterKind, PinoNestLogger, REDIS, REDIS_SUBSCRIBER, REDIS_WORKER, RedisKeys, redisTransport, redisVersionOf, type DashConfig } from '@dash/infra';
import { registerBodyParsers } from './http/body-parsers';
import { RedisIoAdapter } from './live/redis-io.adapter';
import { WebModule } from './web.module';

/** A path parameter may be a failure's id (an event id of up to 255 characters, each up to 12 bytes percent-encoded). */
const MAX_PARAM_LENGTH = 3072;

export interface WebAppOptions {
  /** Nest's console logger at these levels (in-process tests); unset: pino JSON lines per LOG_LEVEL/LOG_FORMAT. */
  logger?: LogLevel[] | false;
}

/** Builds the web app (HTTP API, intake, socket.io, pages) without listening yet. */
export async function createWebApp(config: DashConfig, options: WebAppOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ trustProxy: true, bodyLimit: config.webhooks.maxBytes, routerOptions: { maxParamLength: MAX_PARAM_LENGTH } });
  // Parsers go in before Nest registers routes; Nest routes every error through ErrorFilter.
  registerBodyParsers(adapter.getInstance(), config.webhooks.maxBytes);
  const app = await NestFactory.create<NestFastifyApplication>(WebModule.forRoot(config), adapter, {
    bodyParser: false,
    // Given at creation (not buffered for useLogger), so a failure to start is a JSON line too.
    logger: options.logger ?? new PinoNestLogger(createLogger(config)),
  });
  // The same adapter as the ingestors', chosen by the Redis version all of them meet.
  const kind = liveAdapterKind(await redisVersionOf(app.get(REDIS)));
  app.useWebSocketAdapter(new RedisIoAdapter(app, { kind, pub: app.get(REDIS_WORKER), sub: app.get(REDIS_SUBSCRIBER), keys: app.get(RedisKeys) }, app.get(DashMetrics)));
  app.connectMicroservice(redisTransport(config.redis, config.role), { inheritAppConfig: true });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  return app;
}
