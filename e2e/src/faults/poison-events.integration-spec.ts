import { eventRecordJson, Jobs, JobName, QueueName, type IngestEvent, type IngestJobData } from '@dash/domain';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { queryDb, REDIS_URL, sendWebhook, startStack, testEnv, waitFor, type Api, type CreatedPipeline, type RunningWeb, type Stack } from '../support/harness';

/**
 * Poison events: what jsonb refuses ("\u0000" in a string or key, a lone surrogate, a number past
 * numeric's range) is refused at intake with 400 and its place. The database may still refuse one
 * event of a batch (one queued before intake checked, events breaking a CHECK constraint): the rest
 * of the batch is stored; the refused ones are listed with their reason and can be replayed once
 * the cause is gone.
 */
describe('poison events: isolated, listed, replayed', () => {
  const env = testEnv('poison');
  let stack: Stack;
  let web: RunningWeb;
  let api: Api;
  let pipeline: CreatedPipeline;
  const sent = new Set<string>();
  const acknowledged = new Set<string>();

  beforeAll(async () => {
    stack = await startStack(env);
    ({ web, api } = stack);
    pipeline = await api.createPipeline({ name: 'poison' });
  });

  afterAll(async () => {
    await queryDb(env, 'ALTER TABLE events DROP CONSTRAINT IF EXISTS dash_test_blocked').catch(() => undefined);
    await stack?.close();
  });

  async function send(events: Array<Record<string, unknown>>, raw?: string) {
    for (const event of events) sent.add(String(event.id));
    const response = await sendWebhook(web.url, pipeline, raw ?? events);
    if (response.status === 202) for (const event of events) acknowledged.add(String(event.id));
    return response;
  }

  const storedIds = async () => (await queryDb<{ event_id: string }>(env, 'SELECT event_id FROM events WHERE pipeline_id = $1', [pipeline.id])).map((row) => row.event_id);
  const failures = async (token?: string) => (token ? api.withToken(token) : api).request('GET', `/api/pipelines/${pipeline.id}/failures`);

  const queuedJobs = async () => {
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue<IngestJobData>(QueueName.Pipelines, { connection, prefix: `${env.name}:bull` });
    try {
      return await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
    } finally {
      await queue.close();
      connection.disconnect();
    }
  };

  it('refuses at intake, with 400 invalid_event naming the place, every event jsonb would refuse; nothing is stored or queued', async () => {
    const before = await queuedJobs();
    const intake = await api.createPipeline({ name: 'intake' });
    const nul = Array.from({ length: 5 }, (_, i) => ({ id: `n${i}`, data: { name: i === 3 ? 'a\u0000b' : 'fine' } }));
    // JSON.stringify writes the NUL as the escape \u0000: valid JSON.
    expect(JSON.stringify(nul)).toContain('\\u0000');
    const refusals: Array<[string, string | undefined, RegExp]> = [
      ['batch, NUL in a value', JSON.stringify(nul), /^event 3: payload\.data\.name contains \\u0000, which PostgreSQL cannot store$/],
      ['single event, NUL in a key', '{"data":{"k\\u0000":1}}', /^event: payload\.data\["k\\u0000"\] is a key that contains \\u0000/],
      ['NDJSON, lone high surrogate', '{"id":"a"}\n{"id":"b","s":"x\\ud800"}', /^event 1: payload\.s contains an unpaired UTF-16 surrogate/],
      ['batch, lone low surrogate', '[{"id":"c","s":"\\udc00"}]', /^event 0: payload\.s contains an unpaired UTF-16 surrogate/],
      ['single event, 1e400000', '{"n":1e400000}', /^the body holds the number 1e400000 \(at byte 5\), which PostgreSQL cannot store/],
      ['batch, -1e400 (Infinity in JavaScript)', '[{"id":"d","n":[-1e400]}]', /^event 0: payload\.n\[0\] is a number beyond ±1\.8e308/],
      ['NDJSON, 1e-400000', '{"id":"e"}\n{"id":"f","n":1e-400000}', /^line 2 holds the number 1e-400000/],
    ];
    for (const [label, body, message] of refusals) {
      const ndjson = label.startsWith('NDJSON');
      const response = await sendWebhook(web.url, intake, body, ndjson ? { contentType: 'application/x-ndjson' } : {});
      expect({ label, status: response.status, error: response.body.error }).toEqual({ label, status: 400, error: 'invalid_event' });
      expect(response.body.message).toMatch(message);
    }
    // Paired surrogates (an emoji) and large but finite numbers are stored as sent.
    expect((await sendWebhook(web.url, intake, '[{"id":"ok1","s":"\\ud83d\\ude00","n":1e300}]')).status).toBe(202);
    await waitFor(() => api.stats(intake.id), (s) => s.count === 1, 15_000, 'the good event stored');
    expect((await api.request('GET', `/api/pipelines/${intake.id}/events`)).body.items.map((e: { payload: unknown }) => e.payload)).toEqual([{ id: 'ok1', s: '\u{1F600}', n: 1e300 }]);
    expect((await queryDb<{ event_id: string }>(env, 'SELECT event_id FROM events WHERE pipeline_id = $1', [intake.id])).map((row) => row.event_id)).toEqual(['ok1']);
    // One job (the good event's) went through the queue; none of the refused requests queued anything.
    const after = await queuedJobs();
    expect(after.failed).toBe(before.failed);
    expect((await api.request('GET', `/api/pipelines/${intake.id}/failures`)).body.total).toBe(0);
  });

  it('an event queued before intake checked it (an old job): the rest of its batch is stored and it is recorded as a failure (22P05), not retried forever', async () => {
    const events = Array.from({ length: 10 }, (_, i) => ({ id: `p${i}`, type: 'ok', text: i === 4 ? 'a\u0000b' : 'fine' }));
    for (const event of events) {
      sent.add(event.id);
      acknowledged.add(event.id);
    }
    const now = Date.now();
    const queued: IngestEvent[] = events.map((event) => ({ pipelineId: pipeline.id, id: event.id, type: event.type, occurredAt: now, receivedAt: now, payloadJson: JSON.stringify(event) }));
    expect(eventRecordJson(queued[4])).toContain('\\u0000');
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue<IngestJobData>(QueueName.Pipelines, { connection, prefix: `${env.name}:bull` });
    try {
      await queue.add(JobName.Ingest, { events: queued }, Jobs[JobName.Ingest].options);
      // The job completes (removeOnComplete): no retry with backoff, no job left failed.
      await waitFor(() => queue.getJobCounts('waiting', 'active', 'delayed', 'failed'), (c) => Object.values(c).every((n) => n === 0), 15_000, 'job done');
    } finally {
      await queue.close();
      connection.disconnect();
    }
    await waitFor(() => api.stats(pipeline.id), (s) => s.count === 9, 15_000, '9 stored');
    const listed = await waitFor(failures, (r) => r.body?.total === 1, 10_000, 'failure listed');
    expect(listed.body.items).toEqual([
      {
        id: 'p4',
        reason: expect.stringMatching(/^22P05: .*unicode/i),
        attempts: 1,
        failedAt: expect.any(String),
        event: { type: 'ok', occurredAt: expect.any(String), receivedAt: expect.any(String), payload: { id: 'p4', type: 'ok', text: 'a\u0000b' } },
      },
    ]);
    expect((await storedIds()).sort()).toEqual(events.map((e) => e.id).filter((id) => id !== 'p4').sort());
  });

  it('lets the admin and a viewer of the pipeline read failures, and only the admin replay them', async () => {
    const other = await api.createPipeline({ name: 'other' });
    const mine = (await api.request('POST', '/api/tokens', { pipelines: [pipeline.id] })).body.token as string;
    const theirs = (await api.request('POST', '/api/tokens', { pipelines: [other.id] })).body.token as string;
    expect((await failures(mine)).status).toBe(200);
    expect((await failures(mine)).body.total).toBe(1);
    expect((await failures(theirs)).body).toMatchObject({ error: 'forbidden' });
    expect((await api.withToken(mine).request('POST', `/api/pipelines/${pipeline.id}/failures/replay`)).body).toMatchObject({ error: 'forbidden' });
    expect((await fetch(`${web.url}/api/pipelines/${pipeline.id}/failures`)).status).toBe(401);
    expect((await api.request('GET', '/api/pipelines/not-a-uuid/failures')).body).toMatchObject({ error: 'not_found' });
    expect((await api.request('POST', '/api/pipelines/00000000-0000-4000-8000-000000000000/failures/replay')).status).toBe(404);
    expect((await api.request('GET', `/api/pipelines/${pipeline.id}/failures?limit=0`)).body).toMatchObject({ error: 'invalid_request' });
    expect((await api.request('GET', `/api/pipelines/${other.id}/failures`)).body).toEqual({ items: [], total: 0, next: null });
  });

  it('replays: events whose cause is gone are stored and leave the list; one still refused stays with one more attempt', async () => {
    // A constraint refuses type "blocked" (23514, a data error): those events are isolated too.
    await queryDb(env, `ALTER TABLE events ADD CONSTRAINT dash_test_blocked CHECK (type IS DISTINCT FROM 'blocked')`);
    const events = Array.from({ length: 8 }, (_, i) => ({ id: `b${i}`, type: i % 3 === 0 ? 'blocked' : 'ok' }));
    expect((await send(events)).status).toBe(202);
    await waitFor(failures, (r) => r.body?.total === 4, 15_000, '3 more failures');
    await waitFor(() => api.stats(pipeline.id), (s) => s.count === 14, 15_000, '14 stored');
    expect((await failures()).body.items.filter((f: { reason: string }) => f.reason.startsWith('23514')).map((f: { id: string }) => f.id).sort()).toEqual(['b0', 'b3', 'b6']);

    // The cause goes away; the NUL event is still unstorable.
    await queryDb(env, 'ALTER TABLE events DROP CONSTRAINT dash_test_blocked');
    const replay = await api.request('POST', `/api/pipelines/${pipeline.id}/failures/replay`);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ replayed: 4, stored: 3, failed: 1, pending: 0 });
    const after = await failures();
    expect(after.body).toMatchObject({ total: 1, items: [{ id: 'p4', attempts: 2, reason: expect.stringMatching(/^22P05/) }] });

    // Replaying again changes nothing but the attempt count; nothing is stored twice.
    expect((await api.request('POST', `/api/pipelines/${pipeline.id}/failures/replay`)).body).toEqual({ replayed: 1, stored: 0, failed: 1, pending: 0 });
    const stored = await storedIds();
    const failed = new Set(['p4']);
    const result = {
      sent: sent.size,
      acknowledged: acknowledged.size,
      stored: stored.length,
      recordedAsFailed: failed.size,
      duplicates: stored.length - new Set(stored).size,
      lost: [...acknowledged].filter((id) => !stored.includes(id) && !failed.has(id)).length,
    };
    process.stdout.write(`\n[reconcile] poison events (22P05 NUL, 23514 CHECK) then replay: ${Object.entries(result).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
    expect(result).toEqual({ sent: 18, acknowledged: 18, stored: 17, recordedAsFailed: 1, duplicates: 0, lost: 0 });
    expect((await api.stats(pipeline.id)).count).toBe(17);
  });
});
