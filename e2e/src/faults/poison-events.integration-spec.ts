import { queryDb, sendWebhook, startStack, testEnv, waitFor, type Api, type CreatedPipeline, type RunningWeb, type Stack } from '../support/harness';

/**
 * Poison events: the database refuses one event of a batch (here a JSON string holding
 * "\u0000", valid JSON that PostgreSQL's jsonb rejects with 22P05, and events breaking a CHECK
 * constraint). The rest of the batch is stored; the refused ones are listed with their reason
 * and can be replayed once the cause is gone.
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

  it('stores the rest of a batch and records the event PostgreSQL refuses (22P05), with its reason', async () => {
    const events = Array.from({ length: 10 }, (_, i) => ({ id: `p${i}`, type: 'ok', text: i === 4 ? 'a\u0000b' : 'fine' }));
    // JSON.stringify writes the NUL as the escape \u0000: valid JSON, accepted by intake.
    expect(JSON.stringify(events)).toContain('\\u0000');
    expect((await send(events)).status).toBe(202);
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
