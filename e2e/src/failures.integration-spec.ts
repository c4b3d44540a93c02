import { Api, ADMIN_TOKEN, connectViewer, queryDb, startWeb, testEnv, waitFor, type RunningWeb } from './support/harness';

/** `DELETE /api/pipelines/:id/failures/:failureId`: the admin discards an event that can never be stored. */
describe('discarding a failure', () => {
  const env = testEnv('failures_discard');
  let web: RunningWeb;
  let api: Api;

  beforeAll(async () => {
    web = await startWeb(env.config('web'));
    api = new Api(web.url);
  });

  afterAll(async () => {
    await web?.close();
    await env.cleanup();
  });

  /** A failure as the writer records it (the event as JSON text), without needing an event the database refuses. */
  const recordFailure = (pipelineId: string, eventId: string) =>
    queryDb(env, `INSERT INTO ingest_failures (pipeline_id, event_id, event, reason) VALUES ($1, $2, $3, '22P05: unsupported Unicode escape sequence')`, [
      pipelineId,
      eventId,
      JSON.stringify({ id: eventId, pipelineId, type: 'order.created', occurredAt: Date.now(), receivedAt: Date.now(), payload: { n: 1 } }),
    ]);
  const listed = async (pipelineId: string) => {
    const { status, body } = await api.request('GET', `/api/pipelines/${pipelineId}/failures`);
    expect(status).toBe(200);
    return (body.items as Array<{ id: string }>).map((item) => item.id).sort();
  };
  const discard = (pipelineId: string, failureId: string, client = api) => client.request('DELETE', `/api/pipelines/${pipelineId}/failures/${encodeURIComponent(failureId)}`);

  it('removes exactly that failure (204), tells the pipeline\'s pages, and answers 404 once it is gone', async () => {
    const pipeline = await api.createPipeline({ name: 'poisoned' });
    await recordFailure(pipeline.id, 'bad/1 é');
    await recordFailure(pipeline.id, 'bad_2');
    const viewer = await connectViewer(web.url, ADMIN_TOKEN);
    try {
      const notices: string[] = [];
      viewer.on('failures_updated', (update) => notices.push(update.pipelineId));
      expect(await viewer.emitWithAck('subscribe', { pipelineId: pipeline.id })).toMatchObject({ ok: true });

      const answer = await discard(pipeline.id, 'bad/1 é');
      expect(answer.status).toBe(204);
      expect(answer.body).toBeNull();
      expect(await listed(pipeline.id)).toEqual(['bad_2']);
      await waitFor(() => notices, (seen) => seen.includes(pipeline.id), 5000, 'failures_updated');

      expect(await discard(pipeline.id, 'bad/1 é')).toMatchObject({ status: 404, body: { error: 'not_found' } });
      expect(await listed(pipeline.id)).toEqual(['bad_2']);
    } finally {
      viewer.close();
    }
  });

  it('never reaches another pipeline\'s failure, and refuses odd ids with 404, never 5xx', async () => {
    const mine = await api.createPipeline();
    const other = await api.createPipeline();
    await recordFailure(other.id, 'theirs');
    expect(await discard(mine.id, 'theirs')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await listed(other.id)).toEqual(['theirs']);
    for (const id of ['nul\u0000id', 'x'.repeat(1500), '%']) expect((await discard(mine.id, id)).status).toBe(404);
    expect((await discard('00000000-0000-4000-8000-00000000abcd', 'theirs')).status).toBe(404);
    // The longest event id there can be, in characters that encode long, is still reachable.
    const longest = '\u{1F600}'.repeat(127);
    await recordFailure(mine.id, longest);
    expect((await discard(mine.id, longest)).status).toBe(204);
    expect(await listed(mine.id)).toEqual([]);
  });

  it('is for the admin only: a viewer of the pipeline gets 403 and the failure stays', async () => {
    const pipeline = await api.createPipeline();
    await recordFailure(pipeline.id, 'kept');
    const { body } = await api.request('POST', '/api/tokens', { pipelines: [pipeline.id] });
    expect(await discard(pipeline.id, 'kept', api.withToken(body.token))).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect((await discard(pipeline.id, 'kept', api.withToken('not-a-token'))).status).toBe(401);
    expect(await listed(pipeline.id)).toEqual(['kept']);
  });
});
