import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WEBHOOK_ROUTE } from '@dash/domain';
import { BacklogGate, DashMetrics } from '@dash/infra';
import type { FastifyInstance } from 'fastify';
import { LiveGateway } from '../live/live.gateway';
import { IngestQueue } from '../webhooks/ingest-queue';


/** Feeds this web node's registry: requests by route and status as they are answered, the rest at scrape time. */
@Injectable()
export class MetricsService implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: DashMetrics,
    private readonly gate: BacklogGate,
    private readonly gateway: LiveGateway,
    private readonly ingest: IngestQueue,
  ) {}

  onModuleInit(): void {
    this.metrics.provide({
      backlog: () => this.gate.current,
      sockets: () => this.gateway.socketCount,
      ingestQueued: () => this.ingest.queued,
      queueJobs: () => this.ingest.jobCounts(),
    });
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      // The route pattern, not the URL: bounded label values.
      const route = request.routeOptions.url ?? 'unmatched';
      const seconds = reply.elapsedTime / 1000;
      // Webhooks are counted apart (dash_webhook_*), every other answer by route.
      if (route === WEBHOOK_ROUTE) this.metrics.observeWebhook(reply.statusCode, seconds);
      else this.metrics.observeRequest(request.method, route, reply.statusCode, seconds);
      done();
    });
  }

  render(): Promise<string> {
    return this.metrics.render();
  }

  get contentType(): string {
    return this.metrics.contentType;
  }
}
