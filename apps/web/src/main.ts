import { Logger } from '@nestjs/common';
import { configOrExit, guardProcess } from '@dash/infra';
import type { Server } from 'node:http';
import { createWebApp } from './app';

/** A sender gets this long to deliver a whole request (Fastify sets no limit), and 15 s for its headers. */
const REQUEST_TIMEOUT_MS = 60_000;
const HEADERS_TIMEOUT_MS = 15_000;

/** The web app: webhook intake, REST API, socket.io gateway and the dashboard pages. */
async function bootstrap(): Promise<void> {
  const config = configOrExit('web');
  guardProcess();
  const app = await createWebApp(config);
  await app.listen({ port: config.port, host: '::' });
  // Slow or stalled senders cannot hold connections (and their buffers) forever.
  const server = app.getHttpServer() as Server;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  const logger = new Logger('Web');
  logger.log(`web ${config.nodeId} listening on http://localhost:${config.port} (region ${config.region})`);
}

void bootstrap().catch((error: Error) => {
  new Logger('Web').error(`could not start: ${error.message}`);
  process.exit(1);
});
