import type { INestMicroservice } from '@nestjs/common';
import { metricTypes, metricValue, parseMetrics } from './support/metrics';
import type { DataUpdated } from '@dash/domain';
import { DashMetrics } from '@dash/infra';
import { Api, connectViewer, sendWebhook, startIngestor, startWeb, testEnv, waitFor, type RunningWeb } from './support/harness';

describe('operations: cluster view and metrics', () => {
  const env = testEnv('ops');
  let ingestor: INestMicroservice;
  let web: RunningWeb;
  let otherWeb: RunningWeb;
  let api: Api;

  beforeAll(async () => {
    ingestor = await startIngestor(env.config('ingestor', { FLY_REGION: 'iad' }));
    web = await startWeb(env.config('web', { FLY_REGION: 'fra' }));
    otherWeb = await startWeb(env.config('web', { FLY_REGION: 'syd' }));
    api = new Api(web.url);
  });

  afterAll(async () => {
    await web?.close();
    await otherWeb?.close();
    await ingestor?.close();
    await env.cleanup();
  });

  it('lists every live web and ingestor node with its vital signs', async () => {
    const { body } = await waitFor(() => api.request('GET', '/api/cluster'), (r) => r.body?.nodes?.length === 3, 10_000, 'three nodes');
    const byRegion = Object.fromEntries(body.nodes.map((node: any) => [node.region, node]));
    expect(byRegion.iad).toMatchObject({ role: 'ingestor', rssBytes: expect.any(Number), cpu: expect.any(Number), queues: expect.objectContaining({ waiting: expect.any(Number) }), bufferBacklog: 0 });
    expect(byRegion.fra).toMatchObject({ role: 'web', sockets: 0, startedAt: expect.any(String), lastSeenAt: expect.any(String) });
    expect(byRegion.syd).toMatchObject({ role: 'web' });
  });

  it('forgets a node that stopped', async () => {
    await otherWeb.close();
    const { body } = await waitFor(() => api.request('GET', '/api/cluster'), (r) => r.body?.nodes?.length === 2, 10_000, 'two nodes');
    expect(body.nodes.map((node: any) => node.region).sort()).toEqual(['fra', 'iad']);
  });

  it('is for the admin only', async () => {
    const pipeline = await api.createPipeline();
    const { body } = await api.request('POST', '/api/tokens', { pipelines: [pipeline.id] });
    expect((await api.withToken(body.token).request('GET', '/api/cluster')).status).toBe(403);
  });

  it('exposes Prometheus metrics with request counts by route and status, webhooks by status', async () => {
    const pipeline = await api.createPipeline();
    const before = await (await fetch(`${web.url}/metrics`)).text();
    expect((await sendWebhook(web.url, pipeline, [{ a: 1 }, { a: 2 }, { a: 3 }])).status).toBe(202);
    expect((await sendWebhook(web.url, pipeline, { a: 1 }, { secret: 'whsec_' + Buffer.alloc(24).toString('base64') })).status).toBe(401);
    await api.createPipeline();
    const response = await fetch(`${web.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    const types = metricTypes(text);
    expect(types.get('dash_http_requests_total')).toBe('counter');
    const route = { method: 'POST', route: '/webhooks/:pipelineId' };
    const delta = (name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels) - (metricValue(before, name, labels) || 0);
    // Webhooks are counted by their own metrics, not among the other routes'.
    expect(metricValue(text, 'dash_http_requests_total', route)).toBeFalsy();
    expect(delta('dash_http_requests_total', { method: 'POST', route: '/api/pipelines', status: '201' })).toBe(1);
    expect(delta('dash_webhook_requests_total', { status: '202' })).toBe(1);
    expect(delta('dash_webhook_requests_total', { status: '401' })).toBe(1);
    expect(delta('dash_webhook_duration_seconds_count')).toBe(2);
    expect(metricValue(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metricValue(text, 'dash_ingest_backlog_events')).toBeGreaterThanOrEqual(0);
    // Every sample names its node and role.
    expect(parseMetrics(text).every((s) => s.labels.role === 'web' && s.labels.node?.startsWith('web-'))).toBe(true);
    // One accepted request of three events: one more job, three more events (the 401 queued nothing).
    expect(delta('dash_ingest_jobs_total')).toBe(1);
    expect(delta('dash_ingest_queued_events_total')).toBe(3);
  });

  it('measures pubsub latency from the commit to the update arriving at the web node with viewers, and counts stored events', async () => {
    const pipeline = await api.createPipeline();
    const viewer = await connectViewer(web.url, api.token);
    try {
      expect(await viewer.emitWithAck('subscribe', { pipelineId: pipeline.id })).toMatchObject({ ok: true });
      const updates: DataUpdated[] = [];
      viewer.on('data_updated', (update) => updates.push(update));
      const before = await (await fetch(`${web.url}/metrics`)).text();
      expect((await sendWebhook(web.url, pipeline, [{ a: 1 }, { a: 2 }])).status).toBe(202);
      const update = await waitFor(() => updates.at(-1), (u) => u?.count === 2, 10_000, 'data_updated');
      // The commit comes before the emission, and both are carried.
      expect(Date.parse(update?.committedAt ?? '')).toBeLessThanOrEqual(Date.parse(update?.emittedAt ?? ''));
      const text = await waitFor(
        async () => (await fetch(`${web.url}/metrics`)).text(),
        (t) => metricValue(t, 'dash_pubsub_latency_seconds_count') > (metricValue(before, 'dash_pubsub_latency_seconds_count') || 0),
        10_000,
        'a pubsub latency observation',
      );
      expect(metricValue(text, 'dash_pubsub_latency_seconds_bucket', { le: '+Inf' })).toBeGreaterThanOrEqual(1);
      // The ingestor (no METRICS_PORT here) counted the two events it committed.
      expect(metricValue(await ingestor.get(DashMetrics).render(), 'dash_events_stored_total')).toBeGreaterThanOrEqual(2);
    } finally {
      viewer.disconnect();
    }
  });
});
