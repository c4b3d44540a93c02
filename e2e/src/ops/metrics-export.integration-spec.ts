import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { testEnv } from '../support/harness';
import { metricTypes } from '../support/metrics';
import { freePort, killAll, sleep, spawnIngestor, spawnWeb, type Proc, type WebProc } from '../support/processes';

const ROOT = resolve(__dirname, '../../..');

/** Metric families an expression uses (a histogram's `_bucket`/`_sum`/`_count` named by the family). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(dash_[a-z_]+|process_[a-z_]+|nodejs_[a-z_]+)/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, ''));
}

/** TCP ports a process listens on, from /proc (Linux): what `ss -ltnp` would show for it. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(link);
      if (match) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // st 0A = LISTEN; the local address ends in :PORT (hex); column 9 is the inode.
      if (cols.length > 9 && cols[3] === '0A' && inodes.has(cols[9])) ports.push(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return ports.sort();
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

describe('operations: what a running web node and ingestor export', () => {
  const env = testEnv('metricsexport');
  const procs: Proc[] = [];
  let web: WebProc;
  let webMetricsPort: number;
  let ingestorMetricsPort: number;
  let ingestor: Proc;
  let quietIngestor: Proc;

  beforeAll(async () => {
    ingestorMetricsPort = await freePort();
    webMetricsPort = await freePort();
    // An ingestor without METRICS_PORT, first: it creates the database, then must open no port.
    quietIngestor = await spawnIngestor(env.env, 'ingestor-quiet');
    procs.push(quietIngestor);
    ingestor = await spawnIngestor({ ...env.env, METRICS_PORT: String(ingestorMetricsPort) }, 'ingestor-metrics');
    procs.push(ingestor);
    web = await spawnWeb({ ...env.env, METRICS_PORT: String(webMetricsPort) });
    procs.push(web);
  });

  afterAll(async () => {
    await killAll(procs);
    await env.cleanup();
  });

  it('an ingestor listens on nothing without METRICS_PORT, and on that port alone with it', async () => {
    expect(listeningPorts(quietIngestor.pid)).toEqual([]);
    expect(listeningPorts(ingestor.pid)).toEqual([ingestorMetricsPort]);
    expect((await fetch(`http://127.0.0.1:${ingestorMetricsPort}/health`)).status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${ingestorMetricsPort}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    const other = await fetch(`http://127.0.0.1:${ingestorMetricsPort}/api/pipelines`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: 'not_found' });
  });

  it('a web node with METRICS_PORT serves metrics there and no longer on its public port', async () => {
    const publicMetrics = await fetch(`${web.url}/metrics`);
    expect(publicMetrics.status).toBe(404);
    expect(await publicMetrics.json()).toMatchObject({ error: 'not_found' });
    expect(metricTypes(await scrape(`http://127.0.0.1:${webMetricsPort}/metrics`)).has('dash_webhook_requests_total')).toBe(true);
    expect((await fetch(`http://127.0.0.1:${webMetricsPort}/ready`)).status).toBe(200);
  });

  it("exports every metric the alert rules and the dashboard use, and the contract's names, labelled role and node", async () => {
    // A gauge that reads Redis at scrape time is there from the first scrape; give the CPU window a sample.
    await sleep(100);
    const webText = await scrape(`http://127.0.0.1:${webMetricsPort}/metrics`);
    const ingestorText = await scrape(`http://127.0.0.1:${ingestorMetricsPort}/metrics`);
    const exported = new Set([...metricTypes(webText).keys(), ...metricTypes(ingestorText).keys()]);

    const rules = readFileSync(join(ROOT, 'ops/prometheus/alerts.yml'), 'utf8');
    const ruleMetrics = [...rules.matchAll(/expr: (.+)/g)].flatMap(([, expr]) => metricsIn(expr));
    expect(ruleMetrics.length).toBeGreaterThanOrEqual(5);
    for (const name of ruleMetrics) expect({ name, exported: exported.has(name) }).toEqual({ name, exported: true });

    const dashboard = JSON.parse(readFileSync(join(ROOT, 'ops/grafana/dash.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    expect(dashboard.panels.map((p) => p.title)).toEqual(expect.arrayContaining(['Web memory', 'Ingestor CPU', 'Queue depth', 'Buffer backlog', 'PubSub latency']));
    for (const name of dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr)))) expect({ name, exported: exported.has(name) }).toEqual({ name, exported: true });

    const contract: Record<string, string> = {
      dash_memory_usage_ratio: 'gauge',
      dash_cpu_usage_ratio: 'gauge',
      dash_queue_jobs: 'gauge',
      dash_ingest_backlog_events: 'gauge',
      dash_pubsub_latency_seconds: 'histogram',
      dash_webhook_requests_total: 'counter',
      dash_webhook_duration_seconds: 'histogram',
      dash_events_stored_total: 'counter',
      dash_events_orphaned_total: 'counter',
      dash_socket_connections: 'gauge',
      dash_http_requests_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
    };
    for (const text of [webText, ingestorText]) {
      const types = metricTypes(text);
      for (const [name, type] of Object.entries(contract)) expect({ name, type: types.get(name) }).toEqual({ name, type });
    }
    // Every queue the ingestors work, in every state the rules read.
    for (const queue of ['pipelines', 'default', 'mailers']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) {
        expect(ingestorText).toMatch(new RegExp(`^dash_queue_jobs\\{queue="${queue}",state="${state}",role="ingestor",node="ingestor-[^"]+"\\} \\d+$`, 'm'));
      }
    }
    expect(webText).toMatch(/^dash_memory_usage_ratio\{role="web",node="web-[^"]+"\} 0\.\d+/m);
    expect(ingestorText).toMatch(/^dash_cpu_usage_ratio\{role="ingestor",node="ingestor-[^"]+"\} \d/m);
  });
});
