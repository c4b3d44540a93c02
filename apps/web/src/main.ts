import { Logger } from '@nestjs/common';
import { configOrExit, guardProcess } from '@dash/infra';
import { createWebApp } from './app';

/** The web app: webhook intake, REST API, socket.io gateway and the dashboard pages. */
async function bootstrap(): Promise<void> {
  const config = configOrExit('web');
  guardProcess();
  const app = await createWebApp(config);
  await app.listen({ port: config.port, host: '::' });
  const logger = new Logger('Web');
  logger.log(`web ${config.nodeId} listening on http://localhost:${config.port} (region ${config.region})`);
}

void bootstrap().catch((error: Error) => {
  new Logger('Web').error(`could not start: ${error.message}`);
  process.exit(1);
});
