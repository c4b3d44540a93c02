import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WEBHOOK_ROUTE } from '@dash/domain';
import { DASH_CONFIG, LogSampler, loggableUrl, type DashConfig } from '@dash/infra';
import type { FastifyInstance } from 'fastify';

/** Refused webhooks logged at most this often a second per node; metrics count every one. */
const REFUSED_WEBHOOK_LINES_PER_SECOND = 5;

/**
 * One log line per API and page request (request id, method, route, path, status, duration).
 * Webhooks come at intake rates: they are counted in metrics and logged only when refused
 * (sampled) or at `debug`. Never a body or a header; a `?token=` in the path is redacted.
 */
@Injectable()
export class RequestLog implements OnModuleInit {
  private readonly logger = new Logger('Request');
  private readonly refused = new LogSampler(REFUSED_WEBHOOK_LINES_PER_SECOND);
  private readonly webhooksAtDebug: boolean;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(DASH_CONFIG) config: DashConfig,
  ) {
    this.webhooksAtDebug = config.log.level === 'debug' || config.log.level === 'trace';
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const status = reply.statusCode;
      if (route === WEBHOOK_ROUTE) {
        if (status < 400 && !this.webhooksAtDebug) return done();
        const line = { msg: 'webhook', reqId: request.id, route, path: loggableUrl(request.url), status, durationMs: Math.round(reply.elapsedTime * 10) / 10 };
        if (status < 400) this.logger.debug(line);
        else {
          const dropped = this.refused.take();
          if (dropped !== null) this.logger.warn(dropped > 0 ? { ...line, msg: 'webhook refused', suppressed: dropped } : { ...line, msg: 'webhook refused' });
        }
        return done();
      }
      const line = { msg: 'request', reqId: request.id, method: request.method, route, path: loggableUrl(request.url), status, durationMs: Math.round(reply.elapsedTime * 10) / 10 };
      if (status >= 500) this.logger.error(line);
      else this.logger.log(line);
      done();
    });
  }
}
