import { ConfigError, DedupRepository, loadConfig, StorageRepository } from '@dash/infra';
import { STORAGE_SERVERS } from '@dash/infra/testing';
import { MaintenanceService } from '../../apps/ingestor/src/maintenance/maintenance.service';
import { queryDb, sendWebhook, startStack, testEnv, waitFor, type Api, type CreatedPipeline, type RunningWeb, type Stack, type TestEnv } from './support/harness';

type Bucket = '1m' | '5m' | '1h' | '1d';
const BUCKET_MS: Record<Bucket, number> = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 };

interface Sent {
  id: string;
  type: string | null;
  at: string;
}

/** Counts per bucket start, computed from the events themselves: what the series must equal. */
function expectedCounts(events: Sent[], bucket: Bucket, type?: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) {
    if (type !== undefined && event.type !== type) continue;
    const ms = Date.parse(event.at);
    const t = new Date(Math.floor(ms / BUCKET_MS[bucket]) * BUCKET_MS[bucket]).toISOString();
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return counts;
}

/**
 * TimescaleDB mode: runs policy jobs now, as TimescaleDB's scheduler does every few minutes (the
 * continuous aggregates count a late event once their refresh policy has run).
 */
async function runPolicies(env: TestEnv, ...policies: Array<[proc: string, relation: string]>): Promise<void> {
  for (const [proc, relation] of policies) {
    const jobs = await queryDb<{ job_id: number }>(env, 'SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = $1 AND hypertable_name = $2', [proc, relation]);
    expect(jobs).toHaveLength(1);
    // A run the scheduler started before it was paused may still hold the aggregate: wait it out.
    await waitFor(
      () => queryDb(env, 'CALL run_job($1::int)', [jobs[0].job_id]).then(() => null, (error: Error) => error.message),
      (error) => error === null || !error.includes('concurrent refresh'),
      15_000,
      `${proc} on ${relation}`,
    ).then((error) => expect(error).toBeNull());
  }
}
/**
 * TimescaleDB mode: leaves the policy jobs of a suite's database to the test (run through
 * runPolicies), once the ingestor has applied them at start: a refresh the scheduler runs at the
 * same time as the test's is refused.
 */
async function pauseScheduler(env: TestEnv): Promise<void> {
  const jobs = "SELECT job_id FROM timescaledb_information.jobs WHERE hypertable_name IN ('events', 'event_counts_1m', 'event_counts_1h')";
  await waitFor(() => queryDb(env, `${jobs} AND proc_name = 'policy_compression'`), (rows) => rows.length === 1, 15_000, 'the policies applied');
  await queryDb(env, `SELECT alter_job(job_id, scheduled => false) FROM (${jobs}) AS j`);
}
const REFRESH: Array<[string, string]> = [
  ['policy_refresh_continuous_aggregate', 'event_counts_1m'],
  ['policy_refresh_continuous_aggregate', 'event_counts_1h'],
];

const nonZero = (points: Array<{ t: string; count: number }>) => new Map(points.filter((point) => point.count > 0).map((point) => [point.t, point.count]));

// Known times across minute, 5-minute, hour and day edges (all long past: late events).
const HISTORY: Sent[] = [
  { id: 'h1', type: 'order.created', at: '2025-03-10T10:00:05.000Z' },
  { id: 'h2', type: 'order.paid', at: '2025-03-10T10:00:59.999Z' },
  { id: 'h3', type: 'order.created', at: '2025-03-10T10:01:00.000Z' },
  { id: 'h4', type: null, at: '2025-03-10T10:04:59.000Z' },
  { id: 'h5', type: 'order.created', at: '2025-03-10T10:05:00.000Z' },
  { id: 'h6', type: 'order.paid', at: '2025-03-10T10:59:30.000Z' },
  { id: 'h7', type: 'order.created', at: '2025-03-10T11:00:00.000Z' },
  { id: 'h8', type: 'order.paid', at: '2025-03-10T23:59:59.999Z' },
  { id: 'h9', type: 'order.created', at: '2025-03-11T00:00:00.000Z' },
  { id: 'h10', type: 'order.created', at: '2025-03-11T00:00:00.500Z' },
  { id: 'h11', type: 'refund', at: '2025-03-09T07:30:00.000Z' },
];

describe.each(STORAGE_SERVERS)('series: event counts per bucket from the rollups, on $server', ({ server }) => {
  const env = testEnv('series', {}, server);
  let stack: Stack;
  let web: RunningWeb;
  let api: Api;
  let pipeline: CreatedPipeline;
  let other: CreatedPipeline;
  const stored: Sent[] = [];

  async function series(query: Record<string, string>, id = pipeline.id, client = api) {
    return client.request('GET', `/api/pipelines/${id}/series?${new URLSearchParams(query).toString()}`);
  }

  beforeAll(async () => {
    stack = await startStack(env, { ingestor: { BUFFER_MAX_WAIT_MS: '50' } });
    ({ web, api } = stack);
    pipeline = await api.createPipeline({ name: 'orders' });
    other = await api.createPipeline({ name: 'noise' });

    // Recent events first (they land in the newest, current minutes) ...
    const now = Date.now();
    const recent: Sent[] = [
      { id: 'r1', type: 'order.created', at: new Date(now - 1000).toISOString() },
      { id: 'r2', type: 'order.paid', at: new Date(now).toISOString() },
    ];
    for (const event of recent) {
      expect((await sendWebhook(web.url, pipeline, { type: event.type, timestamp: event.at }, { id: event.id })).status).toBe(202);
    }
    stored.push(...recent);
    await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === 2, 15_000, 'recent events stored');

    // ... then late ones with old timestamps: singles, one batch, and repeated deliveries.
    for (const event of HISTORY.slice(0, 6)) {
      const body = event.type === null ? { timestamp: event.at } : { type: event.type, timestamp: event.at };
      expect((await sendWebhook(web.url, pipeline, body, { id: event.id })).status).toBe(202);
    }
    const batch = HISTORY.slice(6).map((event) => ({ id: event.id, type: event.type, timestamp: event.at }));
    expect((await sendWebhook(web.url, pipeline, batch)).status).toBe(202);
    // Duplicates: the same ids again (one as a single, the batch again with new delivery ids).
    expect((await sendWebhook(web.url, pipeline, { type: 'order.created', timestamp: HISTORY[0].at }, { id: 'h1' })).status).toBe(202);
    expect((await sendWebhook(web.url, pipeline, batch)).status).toBe(202);
    stored.push(...HISTORY);

    // Another pipeline at the same times must not leak in.
    expect((await sendWebhook(web.url, other, HISTORY.map((event) => ({ id: `o${event.id}`, type: event.type, timestamp: event.at })))).status).toBe(202);
    await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === stored.length, 15_000, 'all events stored');
    await waitFor(() => api.stats(other.id), (stats) => stats.count === HISTORY.length, 15_000, 'other pipeline stored');
    // Repeated deliveries were answered 202; give the writer a moment to (not) store them twice.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await api.stats(pipeline.id)).count).toBe(stored.length);
    if (server === 'timescaledb') {
      await pauseScheduler(env);
      await runPolicies(env, ...REFRESH);
    }
  });

  afterAll(() => stack?.close());

  const RANGES: Array<{ bucket: Bucket; from: string; to: string; points: number }> = [
    { bucket: '1m', from: '2025-03-10T09:59:00Z', to: '2025-03-10T12:00:00Z', points: 121 },
    { bucket: '5m', from: '2025-03-09T00:00:00Z', to: '2025-03-12T00:00:00Z', points: 864 },
    { bucket: '1h', from: '2025-03-09T00:00:00Z', to: '2025-03-12T00:00:00Z', points: 72 },
    { bucket: '1d', from: '2025-03-01T00:00:00Z', to: '2025-04-01T00:00:00Z', points: 31 },
  ];

  for (const range of RANGES) {
    it(`counts every event once in its ${range.bucket} bucket, zero-filled`, async () => {
      const { status, body } = await series({ bucket: range.bucket, from: range.from, to: range.to });
      expect(status).toBe(200);
      expect(body.bucket).toBe(range.bucket);
      expect(body.points).toHaveLength(range.points);
      expect(body.points[0].t).toBe(new Date(range.from).toISOString());
      const inRange = stored.filter((event) => event.at >= new Date(range.from).toISOString() && event.at < new Date(range.to).toISOString());
      expect(nonZero(body.points)).toEqual(expectedCounts(inRange, range.bucket));
      // Consecutive buckets, one bucket apart.
      const steps = new Set(body.points.slice(1).map((point: { t: string }, i: number) => Date.parse(point.t) - Date.parse(body.points[i].t)));
      expect([...steps]).toEqual([BUCKET_MS[range.bucket]]);
    });

    it(`filters the ${range.bucket} series by event type`, async () => {
      for (const type of ['order.created', 'order.paid', 'refund', 'nothing.like.this']) {
        const { status, body } = await series({ bucket: range.bucket, from: range.from, to: range.to, type });
        expect(status).toBe(200);
        const inRange = stored.filter((event) => event.at >= new Date(range.from).toISOString() && event.at < new Date(range.to).toISOString());
        expect(nonZero(body.points)).toEqual(expectedCounts(inRange, range.bucket, type));
      }
    });
  }

  it('aligns from down to its bucket and ends before to', async () => {
    const { body } = await series({ bucket: '1h', from: '2025-03-10T10:30:00Z', to: '2025-03-10T11:00:00Z' });
    // The 10:00 bucket is whole: every event of that hour, not only those after 10:30.
    expect(body.points).toEqual([{ t: '2025-03-10T10:00:00.000Z', count: 6 }]);
    const day = await series({ bucket: '1d', from: '2025-03-10T23:00:00+02:00', to: '2025-03-11T00:00:00Z' });
    expect(day.body.points).toEqual([{ t: '2025-03-10T00:00:00.000Z', count: 8 }]);
  });

  it('includes the newest minutes with the default range', async () => {
    const { status, body } = await series({});
    expect(status).toBe(200);
    expect(body.bucket).toBe('1m');
    expect(body.points.length).toBeGreaterThanOrEqual(60);
    expect(body.points.length).toBeLessThanOrEqual(61);
    const recent = stored.filter((event) => event.id.startsWith('r'));
    const expected = expectedCounts(recent, '1m');
    expect(nonZero(body.points)).toEqual(expected);
    const byType = await series({ type: 'order.paid' });
    expect(nonZero(byType.body.points)).toEqual(expectedCounts(recent, '1m', 'order.paid'));
    const hours = await series({ bucket: '1h' });
    expect(hours.body.points.reduce((sum: number, point: { count: number }) => sum + point.count, 0)).toBe(recent.length);
  });

  it('answers the same for a viewer token of the pipeline, and refuses others', async () => {
    const { body: made } = await api.request('POST', '/api/tokens', { pipelines: [pipeline.id] });
    const viewer = api.withToken(made.token);
    const query = { bucket: '1d', from: '2025-03-01T00:00:00Z', to: '2025-04-01T00:00:00Z' };
    expect((await series(query, pipeline.id, viewer)).body).toEqual((await series(query)).body);
    expect((await series(query, other.id, viewer)).status).toBe(403);
    expect((await series(query, pipeline.id, api.withToken('nope'))).status).toBe(401);
    expect((await series(query, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it.each([
    [{ bucket: '2m' }, 'bucket'],
    [{ bucket: '' }, 'bucket'],
    [{ from: 'yesterday' }, 'from'],
    [{ to: '2025-13-45T99:00:00Z' }, 'to'],
    [{ from: '2025-03-10T10:00:00Z', to: '2025-03-10T10:00:00Z' }, 'before'],
    [{ from: '2025-03-10T11:00:00Z', to: '2025-03-10T10:00:00Z' }, 'before'],
    [{ bucket: '1m', from: '2025-03-01T00:00:00Z', to: '2025-03-10T00:00:00Z' }, 'at most'],
    [{ bucket: '1h', from: '2020-01-01T00:00:00Z', to: '2025-03-10T00:00:00Z' }, 'at most'],
    [{ type: '' }, 'type'],
  ])('rejects %j with 400 invalid_request', async (query, words) => {
    const { status, body } = await series(query as Record<string, string>);
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_request');
    expect(body.message).toContain(words);
  });

  it('rejects repeated parameters', async () => {
    const { status, body } = await api.request('GET', `/api/pipelines/${pipeline.id}/series?bucket=1m&bucket=1h`);
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_request');
  });
});

describe('retention: old raw events dropped by whole days, counts kept', () => {
  const env = testEnv('retention', { EVENT_RETENTION_DAYS: '5' });
  let stack: Stack;
  let web: RunningWeb;
  let api: Api;

  beforeAll(async () => {
    stack = await startStack(env, { ingestor: { BUFFER_MAX_WAIT_MS: '50' } });
    ({ web, api } = stack);
  });

  afterAll(() => stack?.close());

  const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000);
  const partitionOf = (date: Date) => `events_${date.toISOString().slice(0, 10).replace(/-/g, '')}`;

  it('drops daily partitions and default-partition rows past EVENT_RETENTION_DAYS; the series still counts them', async () => {
    const pipeline = await api.createPipeline();
    const times = { ancient: new Date('2025-01-15T12:00:00Z'), old: day(8), kept: day(2), now: day(0) };
    const batch = Object.entries(times).map(([id, at]) => ({ id, type: 'tick', timestamp: at.toISOString() }));
    expect((await sendWebhook(web.url, pipeline, batch)).status).toBe(202);
    await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === 4, 15_000, 'events stored');
    // Give the old days their own partitions, as they would have had when the events were new.
    await queryDb(env, 'SELECT dash_ensure_event_partitions(10, 1)');
    expect(await queryDb(env, 'SELECT to_regclass($1) AS part', [partitionOf(times.old)])).toEqual([{ part: partitionOf(times.old) }]);

    await stack.ingestor.get(MaintenanceService).run();

    const left = await queryDb<{ event_id: string }>(env, 'SELECT event_id FROM events WHERE pipeline_id = $1 ORDER BY event_id', [pipeline.id]);
    expect(left.map((row) => row.event_id)).toEqual(['kept', 'now']);
    expect(await queryDb(env, 'SELECT to_regclass($1) AS part', [partitionOf(times.old)])).toEqual([{ part: null }]);
    expect(await queryDb(env, 'SELECT to_regclass($1) AS part', [partitionOf(times.kept)])).toEqual([{ part: partitionOf(times.kept) }]);

    const { body } = await api.request('GET', `/api/pipelines/${pipeline.id}/series?bucket=1d&from=2025-01-01T00:00:00Z`);
    expect(body.points.reduce((sum: number, point: { count: number }) => sum + point.count, 0)).toBe(4);
    expect((await api.stats(pipeline.id)).count).toBe(4);
  });

  it('accepts 0 (keep forever) or at least 4 days, and a compression age', () => {
    expect(loadConfig({}, 'ingestor').retention).toEqual({ eventDays: 0, compressAfterDays: 7 });
    expect(loadConfig({ EVENT_RETENTION_DAYS: '30', COMPRESS_AFTER_DAYS: '0' }, 'ingestor').retention).toEqual({ eventDays: 30, compressAfterDays: 0 });
    for (const bad of [{ EVENT_RETENTION_DAYS: '2' }, { EVENT_RETENTION_DAYS: 'week' }, { COMPRESS_AFTER_DAYS: '-1' }]) {
      expect(() => loadConfig(bad, 'ingestor')).toThrow(ConfigError);
    }
  });
});

describe('compression and retention on TimescaleDB: the series stay right', () => {
  const env = testEnv('tsdbseries', { COMPRESS_AFTER_DAYS: '7' }, 'timescaledb');
  let stack: Stack;
  let web: RunningWeb;
  let api: Api;

  beforeAll(async () => {
    stack = await startStack(env, { ingestor: { BUFFER_MAX_WAIT_MS: '50' } });
    ({ web, api } = stack);
    await pauseScheduler(env);
  });

  afterAll(() => stack?.close());

  const noonDaysAgo = (days: number) => {
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - days, 12));
  };
  const dayOf = (at: Date) => `${at.toISOString().slice(0, 10)}T00:00:00.000Z`;

  async function dailySeries(pipelineId: string): Promise<Map<string, number>> {
    const from = noonDaysAgo(45).toISOString().slice(0, 10);
    const { status, body } = await api.request('GET', `/api/pipelines/${pipelineId}/series?bucket=1d&from=${from}T00:00:00Z`);
    expect(status).toBe(200);
    return nonZero(body.points);
  }

  async function compressedDays(): Promise<Map<string, boolean>> {
    const rows = await queryDb<{ day: Date; compressed: boolean }>(env, `SELECT range_start AS day, is_compressed AS compressed FROM timescaledb_information.chunks WHERE hypertable_name = 'events'`);
    return new Map(rows.map((row) => [row.day.toISOString(), row.compressed]));
  }

  it('compresses old chunks and drops expired ones from configuration, and counts a late event into a compressed chunk', async () => {
    const pipeline = await api.createPipeline();
    const times = { expired: noonDaysAgo(40), compressed: noonDaysAgo(10), recent: noonDaysAgo(2) };
    const batch = Object.entries(times).map(([id, at]) => ({ id, type: 'tick', timestamp: at.toISOString() }));
    expect((await sendWebhook(web.url, pipeline, batch)).status).toBe(202);
    await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === 3, 15_000, 'events stored');
    // Counted while raw events are kept forever (the aggregates refresh from the beginning) ...
    await runPolicies(env, ...REFRESH);

    // ... then an ingestor starts with a 30-day retention (as if time had passed since these events
    // came in) and the scheduler runs the policies it applied.
    const config = env.config('ingestor', { EVENT_RETENTION_DAYS: '30' });
    await new MaintenanceService(stack.ingestor.get(StorageRepository), stack.ingestor.get(DedupRepository), config).run();
    await pauseScheduler(env);
    await runPolicies(env, ['policy_retention', 'events'], ['policy_compression', 'events'], ...REFRESH);
    const chunks = await compressedDays();
    expect(chunks.get(dayOf(times.expired))).toBeUndefined();
    expect(chunks.get(dayOf(times.compressed))).toBe(true);
    expect(chunks.get(dayOf(times.recent))).toBe(false);
    const left = await queryDb<{ event_id: string }>(env, 'SELECT event_id FROM events WHERE pipeline_id = $1 ORDER BY event_id', [pipeline.id]);
    expect(left.map((row) => row.event_id)).toEqual(['compressed', 'recent']);
    const all = new Map([
      [dayOf(times.expired), 1],
      [dayOf(times.compressed), 1],
      [dayOf(times.recent), 1],
    ]);
    expect(await dailySeries(pipeline.id)).toEqual(all);

    // A late event for the compressed day: stored into the compressed chunk, counted in the series.
    const late = new Date(times.compressed.getTime() + 3_600_000);
    expect((await sendWebhook(web.url, pipeline, [{ id: 'late', type: 'tick', timestamp: late.toISOString() }])).status).toBe(202);
    await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === 4, 15_000, 'late event stored');
    expect((await compressedDays()).get(dayOf(times.compressed))).toBe(true);
    await runPolicies(env, ...REFRESH);
    expect(await dailySeries(pipeline.id)).toEqual(new Map([...all, [dayOf(times.compressed), 2]]));
    const hours = await api.request('GET', `/api/pipelines/${pipeline.id}/series?bucket=1h&from=${dayOf(times.compressed)}&to=${dayOf(times.recent)}`);
    expect(nonZero(hours.body.points)).toEqual(new Map([
      [times.compressed.toISOString(), 1],
      [late.toISOString(), 1],
    ]));

    // Deleting the pipeline removes its events from compressed chunks too.
    expect((await api.request('DELETE', `/api/pipelines/${pipeline.id}`)).status).toBe(204);
    expect(await queryDb(env, 'SELECT count(*)::int AS n FROM events WHERE pipeline_id = $1', [pipeline.id])).toEqual([{ n: 0 }]);
    expect((await compressedDays()).get(dayOf(times.compressed))).toBe(true);
  });
});
