import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DashConfig } from '../config/config';
import { DASH_CONFIG } from '../config/config.module';
import { HealthService, type HealthReport } from './health';
import { DashMetrics } from './metrics';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function report(res: ServerResponse, report: HealthReport, okStatus: 'ok' | 'ready', what: string): void {
  if (report.ok) json(res, 200, { status: okStatus });
  else json(res, 503, { error: 'unavailable', message: `${what}: ${report.failing.join('; ')}`, failing: report.failing });
}

/**
 * `METRICS_PORT`/`METRICS_HOST`: `/metrics`, `/health` and `/ready` on a port of their own, plain
 * node:http (an ingestor has no HTTP framework, and a scrape should not share the public port's
 * queue). Unset, it listens on nothing.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsServer.name);
  private server: Server | null = null;

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly metrics: DashMetrics,
    private readonly health: HealthService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { port, host } = this.config.metrics;
    if (port === null) return;
    const server = createServer((req, res) => void this.handle(req, res));
    // Scrapers and probes send tiny requests; nothing may hold a connection for long.
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.maxHeadersCount = 50;
    await new Promise<void>((done, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        done();
      });
    });
    this.server = server;
    this.logger.log(`metrics, health and readiness on http://${host.includes(':') ? `[${host}]` : host}:${port}`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'invalid_request', message: 'only GET is served here' });
      if (path === '/metrics') {
        const text = await this.metrics.render();
        res.writeHead(200, { 'content-type': this.metrics.contentType });
        res.end(text);
      } else if (path === '/health') report(res, this.health.live(), 'ok', 'unhealthy');
      else if (path === '/ready') report(res, await this.health.ready(), 'ready', 'not ready');
      else json(res, 404, { error: 'not_found', message: 'this port serves /metrics, /health and /ready' });
    } catch (error) {
      this.logger.warn(`metrics port: ${(error as Error).message}`);
      if (!res.headersSent) json(res, 500, { error: 'internal_error', message: 'could not render the metrics' });
      else res.destroy();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }
}
