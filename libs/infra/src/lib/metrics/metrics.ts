import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AppRole } from '../config/config';
import { CpuWindow, memoryLimitBytes } from './resources';

/** BullMQ job states exported as `dash_queue_jobs{queue, state}`. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
export type QueueJobCounts = Record<string, Partial<Record<(typeof QUEUE_STATES)[number], number>>>;

/** What only the app knows, read at scrape time (never on the request path). */
export interface MetricSources {
  /** Events acknowledged cluster-wide and not yet stored. */
  backlog?: () => number | Promise<number>;
  /** Jobs by queue and state. */
  queueJobs?: () => Promise<QueueJobCounts>;
  /** socket.io connections on this node. */
  sockets?: () => number;
  /** Ingest jobs this web node queued and the events they carried (plain fields on the hot path). */
  ingestQueued?: () => { jobs: number; events: number };
}

// Request durations: intake answers in about a millisecond, pages and the API in tens.
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
// Commit to web node: milliseconds normally, the alert is at 0.5 s.
const PUBSUB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type RequestChildren = { count: { inc(): void }; duration: { observe(value: number): void } };

/**
 * One node's Prometheus registry (prom-client): the default `process_*`/`nodejs_*` metrics and the
 * contract's `dash_*` metrics, every one labelled `role` and `node`. One registry per app instance,
 * not prom-client's global one, so several nodes in one test process never collide.
 */
export class DashMetrics {
  readonly registry = new Registry();
  private readonly sources: MetricSources = {};
  private readonly cpu = new CpuWindow();
  private readonly memoryLimit = memoryLimitBytes();
  /** Label children by "method route status", so counting a request allocates nothing. */
  private readonly requestChildren = new Map<string, RequestChildren>();
  /** Webhook answers by status: plain numbers on the intake path, copied into the counter at scrape time. */
  private readonly webhookCounts = new Map<number, number>();

  readonly httpRequests = new Counter({ name: 'dash_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status.', labelNames: ['method', 'route', 'status'] as const, registers: [this.registry] });
  readonly httpDuration = new Histogram({ name: 'dash_http_request_duration_seconds', help: 'Time to answer an HTTP request, by method, route pattern and status.', labelNames: ['method', 'route', 'status'] as const, buckets: DURATION_BUCKETS, registers: [this.registry] });
  readonly webhookRequests: Counter<'status'> = new Counter({
    name: 'dash_webhook_requests_total',
    help: 'Webhook deliveries answered, by status (202 accepted; 4xx refused; 503 queue unavailable).',
    labelNames: ['status'] as const,
    registers: [this.registry],
    collect: (): void => {
      this.webhookRequests.reset();
      for (const [status, count] of this.webhookCounts) this.webhookRequests.inc({ status: String(status) }, count);
    },
  });
  readonly webhookDuration = new Histogram({ name: 'dash_webhook_duration_seconds', help: 'Time to answer a webhook delivery (202 only once its events are durably queued).', buckets: DURATION_BUCKETS, registers: [this.registry] });
  // Their ratio is the events a job carries: requests that arrive together share one (group commit).
  // Read from the producer's own tallies at scrape time: the intake path only adds to two numbers.
  readonly ingestJobs: Counter = new Counter({ name: 'dash_ingest_jobs_total', help: 'Ingest jobs this node queued.', registers: [this.registry], collect: (): void => this.mirror(this.ingestJobs, this.sources.ingestQueued?.().jobs) });
  readonly ingestQueuedEvents: Counter = new Counter({ name: 'dash_ingest_queued_events_total', help: 'Events this node queued, in those jobs.', registers: [this.registry], collect: (): void => this.mirror(this.ingestQueuedEvents, this.sources.ingestQueued?.().events) });
  readonly eventsStored = new Counter({ name: 'dash_events_stored_total', help: 'Events this ingestor committed to PostgreSQL (redeliveries that deduplication skipped included).', registers: [this.registry] });
  readonly eventsFailed = new Counter({ name: 'dash_events_failed_total', help: 'Events PostgreSQL refused, recorded as failures for replay.', registers: [this.registry] });
  readonly eventsOrphaned = new Counter({ name: 'dash_events_orphaned_total', help: 'Acknowledged events whose pipeline this database does not have (deleted, or another deployment on the same Redis prefix); each is recorded in orphaned_events.', registers: [this.registry] });
  readonly pubsubLatency = new Histogram({ name: 'dash_pubsub_latency_seconds', help: "From a batch's commit to its live update reaching this web node through Redis.", buckets: PUBSUB_BUCKETS, registers: [this.registry] });

  constructor(role: AppRole, nodeId: string) {
    this.registry.setDefaultLabels({ role, node: nodeId });
    collectDefaultMetrics({ register: this.registry });
    const sources = this.sources;
    const memoryLimit = this.memoryLimit;
    const cpu = this.cpu;
    // Redis away: the gauges keep their last values rather than failing the scrape.
    const last: { backlog: number; queueJobs: QueueJobCounts } = { backlog: 0, queueJobs: {} };
    new Gauge({
      name: 'dash_memory_usage_ratio',
      help: 'Resident memory over the memory this node may use (its cgroup limit, else the machine).',
      registers: [this.registry],
      collect() {
        this.set(process.memoryUsage.rss() / memoryLimit);
      },
    });
    new Gauge({
      name: 'dash_memory_limit_bytes',
      help: 'The memory this node may use (its cgroup limit, else the machine).',
      registers: [this.registry],
      collect() {
        this.set(memoryLimit);
      },
    });
    new Gauge({
      name: 'dash_cpu_usage_ratio',
      help: 'CPU used over the cores this node may use (its cgroup quota, else the machine), last 10 s.',
      registers: [this.registry],
      collect() {
        this.set(cpu.ratio());
      },
    });
    new Gauge({
      name: 'dash_ingest_backlog_events',
      help: 'Events acknowledged cluster-wide and not yet stored.',
      registers: [this.registry],
      async collect() {
        if (sources.backlog) this.set(await Promise.resolve(sources.backlog()).then((n) => (last.backlog = n), () => last.backlog));
      },
    });
    new Gauge({
      name: 'dash_queue_jobs',
      help: 'BullMQ jobs by queue and state.',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        if (!sources.queueJobs) return;
        const counts = await sources.queueJobs().then((c) => (last.queueJobs = c), () => last.queueJobs);
        for (const [queue, states] of Object.entries(counts)) for (const state of QUEUE_STATES) this.set({ queue, state }, states[state] ?? 0);
      },
    });
    new Gauge({
      name: 'dash_socket_connections',
      help: 'socket.io connections on this node.',
      registers: [this.registry],
      collect() {
        this.set(sources.sockets?.() ?? 0);
      },
    });
  }

  /** The app adds what only it knows; read at scrape time. */
  provide(sources: MetricSources): void {
    Object.assign(this.sources, sources);
  }

  /** Counts one answered request (cheap: a cached label child per method, route and status). */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let children = this.requestChildren.get(key);
    if (!children) {
      const labels = { method, route, status: String(status) };
      children = { count: this.httpRequests.labels(labels), duration: this.httpDuration.labels(labels) };
      this.requestChildren.set(key, children);
    }
    children.count.inc();
    children.duration.observe(seconds);
  }

  /**
   * Counts one answered webhook delivery: by status only, so a flood of pipelines adds no series.
   * Webhooks have these metrics of their own and stay out of `dash_http_*`: at intake rates the
   * request path pays for one number and one histogram, nothing more.
   */
  observeWebhook(status: number, seconds: number): void {
    this.webhookCounts.set(status, (this.webhookCounts.get(status) ?? 0) + 1);
    this.webhookDuration.observe(seconds);
  }

  /** Sets a counter to a total kept elsewhere (it only ever grows there). */
  private mirror(counter: Counter, total: number | undefined): void {
    if (total === undefined) return;
    counter.reset();
    counter.inc(total);
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  stop(): void {
    this.cpu.stop();
  }
}
