import { Api, connectViewer, queryDb, startWeb, testEnv, type RunningWeb, type Viewer } from './support/harness';

/** Viewer tokens across two web nodes: made, listed, revoked everywhere at once. */
describe('viewer tokens: list, last use and revocation on every node', () => {
  const env = testEnv('tokens');
  let nodeA: RunningWeb;
  let nodeB: RunningWeb;
  let apiA: Api;
  let apiB: Api;
  const sockets: Viewer[] = [];

  beforeAll(async () => {
    nodeA = await startWeb(env.config('web'));
    nodeB = await startWeb(env.config('web'));
    apiA = new Api(nodeA.url);
    apiB = new Api(nodeB.url);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await nodeA?.close();
    await nodeB?.close();
    await env.cleanup();
  });

  async function viewer(url: string, token: string): Promise<Viewer> {
    const socket = await connectViewer(url, token);
    sockets.push(socket);
    return socket;
  }

  /** Resolves when the server ends the socket (a test timeout fails it otherwise). */
  const disconnected = (socket: Viewer) =>
    new Promise<string>((resolve) => {
      if (socket.disconnected) resolve('already');
      socket.once('disconnect', (reason) => resolve(reason));
    });

  it('creates a labelled token and lists it without the token or its hash (admin only)', async () => {
    const pipeline = await apiA.createPipeline({ name: 'shared' });
    const created = await apiA.request('POST', '/api/tokens', { pipelines: [pipeline.id], label: 'for the support team' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(String), token: expect.stringMatching(/^dash_vt_/), label: 'for the support team', pipelines: [pipeline.id] });

    const list = await apiB.request('GET', '/api/tokens');
    expect(list.status).toBe(200);
    const item = list.body.items.find((entry: { id: string }) => entry.id === created.body.id);
    expect(item).toEqual({ id: created.body.id, label: 'for the support team', pipelines: [pipeline.id], createdAt: expect.any(String), lastUsedAt: null });
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);

    const viewerApi = apiA.withToken(created.body.token);
    expect((await viewerApi.request('GET', '/api/tokens')).body.error).toBe('forbidden');
    expect((await viewerApi.request('DELETE', `/api/tokens/${created.body.id}`)).status).toBe(403);
    expect((await apiA.request('POST', '/api/tokens', { pipelines: [pipeline.id], label: '' })).body.error).toBe('invalid_request');
    expect((await apiA.request('POST', '/api/tokens', { pipelines: [pipeline.id], token: 'chosen' })).status).toBe(400);
    expect((await apiA.request('DELETE', '/api/tokens/00000000-0000-4000-8000-000000000000')).body.error).toBe('not_found');
    expect((await apiA.request('DELETE', '/api/tokens/not-a-uuid')).status).toBe(404);
  });

  it('records when a token was last used', async () => {
    const pipeline = await apiA.createPipeline();
    const { body } = await apiA.request('POST', '/api/tokens', { pipelines: [pipeline.id] });
    expect((await apiB.withToken(body.token).request('GET', `/api/pipelines/${pipeline.id}/stats`)).status).toBe(200);
    // Written off the request path (one UPDATE every few seconds): wait for it.
    const deadline = Date.now() + 15_000;
    let lastUsedAt: string | null = null;
    while (lastUsedAt === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      lastUsedAt = (await apiA.request('GET', '/api/tokens')).body.items.find((entry: { id: string }) => entry.id === body.id).lastUsedAt;
    }
    expect(lastUsedAt).not.toBeNull();
    expect(Date.parse(lastUsedAt as string)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('refuses a revoked token at once on another web node, though that node had it cached', async () => {
    const pipeline = await apiA.createPipeline();
    const { body } = await apiA.request('POST', '/api/tokens', { pipelines: [pipeline.id] });
    const onB = apiB.withToken(body.token);
    expect((await onB.request('GET', `/api/pipelines/${pipeline.id}/stats`)).status).toBe(200);
    expect((await onB.request('GET', `/api/pipelines/${pipeline.id}`)).status).toBe(200);

    expect((await apiA.request('DELETE', `/api/tokens/${body.id}`)).status).toBe(204);
    const after = await onB.request('GET', `/api/pipelines/${pipeline.id}/stats`);
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('unauthorized');
    expect((await apiA.withToken(body.token).request('GET', `/api/pipelines/${pipeline.id}/stats`)).status).toBe(401);
    expect((await apiA.request('GET', '/api/tokens')).body.items.map((entry: { id: string }) => entry.id)).not.toContain(body.id);
    await expect(connectViewer(nodeB.url, body.token)).rejects.toThrow('unauthorized');
  });

  it("disconnects a revoked token's sockets on every node, and no other socket", async () => {
    const pipeline = await apiA.createPipeline();
    const revoked = (await apiA.request('POST', '/api/tokens', { pipelines: [pipeline.id] })).body;
    const kept = (await apiA.request('POST', '/api/tokens', { pipelines: [pipeline.id] })).body;
    const onB = await viewer(nodeB.url, revoked.token);
    const onA = await viewer(nodeA.url, revoked.token);
    const bystander = await viewer(nodeB.url, kept.token);
    for (const socket of [onB, onA, bystander]) expect(await socket.emitWithAck('subscribe', { pipelineId: pipeline.id })).toMatchObject({ ok: true });

    const closing = Promise.all([disconnected(onB), disconnected(onA)]);
    expect((await apiA.request('DELETE', `/api/tokens/${revoked.id}`)).status).toBe(204);
    expect(await closing).toEqual(['io server disconnect', 'io server disconnect']);
    expect(bystander.connected).toBe(true);
    expect(await bystander.emitWithAck('subscribe', { pipelineId: pipeline.id })).toMatchObject({ ok: true });
  });

  it('disconnects sockets of a token deleted without any announcement (the periodic recheck)', async () => {
    const pipeline = await apiA.createPipeline();
    const { body } = await apiA.request('POST', '/api/tokens', { pipelines: [pipeline.id] });
    const socket = await viewer(nodeB.url, body.token);
    expect(await socket.emitWithAck('subscribe', { pipelineId: pipeline.id })).toMatchObject({ ok: true });
    const closing = disconnected(socket);
    // Straight in the database, as if the revocation's broadcast had been lost.
    await queryDb(env, 'DELETE FROM api_tokens WHERE id = $1', [body.id]);
    expect(await closing).toBe('io server disconnect');
  });
});
