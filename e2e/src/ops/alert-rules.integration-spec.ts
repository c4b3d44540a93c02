import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const RULES = join(ROOT, 'ops/prometheus/alerts.yml');
const RULE_TESTS = join(ROOT, 'ops/prometheus/alerts.test.yml');
/** Debian's `prometheus` package (`.ci/run` installs it); PROMTOOL may point elsewhere. */
const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';

function promtool(...args: string[]): string {
  if (!existsSync(PROMTOOL)) throw new Error(`promtool is missing at ${PROMTOOL}: apt-get install -y prometheus (or set PROMTOOL)`);
  return execFileSync(PROMTOOL, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('alert rules (ops/prometheus)', () => {
  it('pass promtool check rules', () => {
    expect(promtool('check', 'rules', RULES)).toMatch(/SUCCESS: 5 rules found/);
  });

  it('pass their unit tests (promtool test rules)', () => {
    expect(promtool('test', 'rules', RULE_TESTS)).toMatch(/SUCCESS/);
  });

  it("hold one rule for each row of the seed's table, with its threshold", () => {
    const text = readFileSync(RULES, 'utf8');
    const rules = [...text.matchAll(/- alert: (\w+)\n\s+expr: (.+)\n\s+for: (\w+)/g)].map(([, name, expr, forDuration]) => ({ name, expr, forDuration }));
    expect(rules.map((r) => r.name).sort()).toEqual(['DashIngestBacklogHigh', 'DashIngestorCpuHigh', 'DashPubsubLatencyHigh', 'DashQueueDepthHigh', 'DashWebMemoryHigh']);
    const expr = Object.fromEntries(rules.map((r) => [r.name, r.expr]));
    expect(expr.DashWebMemoryHigh).toMatch(/dash_memory_usage_ratio\{role="web"\}.*> 0\.8$/);
    expect(expr.DashIngestorCpuHigh).toMatch(/dash_cpu_usage_ratio\{role="ingestor"\}.*> 0\.7$/);
    expect(expr.DashQueueDepthHigh).toMatch(/dash_queue_jobs\{state="waiting"\}.*> 1000$/);
    expect(expr.DashIngestBacklogHigh).toMatch(/dash_ingest_backlog_events.*> 5000$/);
    expect(expr.DashPubsubLatencyHigh).toMatch(/histogram_quantile\(0\.99, .*dash_pubsub_latency_seconds_bucket.*> 0\.5$/);
    for (const rule of rules) expect(rule.forDuration).toMatch(/^\d+m$/);
  });
});
