import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LiveGateway } from '../live/live.gateway';
import { BacklogGate } from '../webhooks/backlog-gate';
import { IngestQueue } from '../webhooks/ingest-queue';

type Labels = Record<string, string>;

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels: Labels) => {
  const entries = Object.entries(labels);
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}` : '';
};

/** Prometheus text exposition of this web node: requests by route and status, backlog, ingest jobs, sockets, process. */
@Injectable()
export class MetricsService implements OnModuleInit {
  private readonly requests = new Map<string, { labels: Labels; value: number }>();
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly gate: BacklogGate,
    private readonly gateway: LiveGateway,
    private readonly ingest: IngestQueue,
  ) {}

  onModuleInit(): void {
    this.loopDelay.enable();
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      // The route pattern, not the URL: bounded label values.
      const route = request.routeOptions.url ?? 'unmatched';
      const key = `${request.method} ${route} ${reply.statusCode}`;
      const entry = this.requests.get(key);
      if (entry) entry.value += 1;
      else this.requests.set(key, { labels: { method: request.method, route, status: String(reply.statusCode) }, value: 1 });
      done();
    });
  }

  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Labels, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labelText(labels)} ${value}`);
    };
    metric('dash_http_requests_total', 'counter', 'HTTP requests answered, by route and status.', [...this.requests.values()].map((e) => [e.labels, e.value]));
    metric('dash_ingest_backlog_events', 'gauge', 'Events queued cluster-wide and not yet committed.', [[{}, this.gate.current]]);
    // Their ratio is the events a job carries: requests that arrive together share one (group commit).
    metric('dash_ingest_jobs_total', 'counter', 'Ingest jobs this node queued.', [[{}, this.ingest.queued.jobs]]);
    metric('dash_ingest_queued_events_total', 'counter', 'Events this node queued, in those jobs.', [[{}, this.ingest.queued.events]]);
    metric('dash_socket_connections', 'gauge', 'socket.io connections on this node.', [[{}, this.gateway.socketCount]]);
    const cpu = process.cpuUsage();
    metric('process_cpu_seconds_total', 'counter', 'User and system CPU time.', [[{}, (cpu.user + cpu.system) / 1e6]]);
    metric('process_resident_memory_bytes', 'gauge', 'Resident set size.', [[{}, process.memoryUsage.rss()]]);
    metric('nodejs_eventloop_delay_p99_seconds', 'gauge', 'Event loop delay, 99th percentile since the last scrape.', [[{}, this.loopDelay.percentile(99) / 1e9]]);
    this.loopDelay.reset();
    return lines.join('\n') + '\n';
  }
}
