import { ADMIN_TOKEN, Api, sendWebhook, testEnv, waitFor } from '../support/harness';
import { killAll, spawnIngestor, spawnWeb, type Proc, type WebProc } from '../support/processes';

/** Every line a process wrote, each parsed as JSON (a line that is not JSON fails the test). */
function jsonLines(proc: Proc): Array<Record<string, unknown>> {
  return proc.lines.filter((line) => line.length > 0).map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${proc.name} wrote a line that is not JSON: ${line}`);
    }
  });
}

describe('operations: structured logs (LOG_FORMAT=json)', () => {
  const env = testEnv('logs');
  const procs: Proc[] = [];
  let web: WebProc;
  let ingestor: Proc;
  let api: Api;
  const viewerSecret = 'share-link-secret-value-0123456789';

  beforeAll(async () => {
    const logEnv = { ...env.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info' };
    ingestor = await spawnIngestor(logEnv);
    procs.push(ingestor);
    web = await spawnWeb(logEnv);
    procs.push(web);
    api = new Api(web.url);
  });

  afterAll(async () => {
    await killAll(procs);
    await env.cleanup();
  });

  it('writes one JSON object a line with level, time, msg, role and node, and no colour codes', async () => {
    const pipeline = await api.createPipeline();
    expect((await sendWebhook(web.url, pipeline, { a: 1 })).status).toBe(202);
    await waitFor(() => api.stats(pipeline.id), (s) => s.count === 1);
    for (const [proc, role] of [[web, 'web'], [ingestor, 'ingestor']] as const) {
      const lines = jsonLines(proc);
      expect(lines.length).toBeGreaterThan(0);
      expect(proc.lines.some((line) => line.includes('\u001b['))).toBe(false);
      for (const line of lines) {
        expect(line).toMatchObject({ level: expect.stringMatching(/^(trace|debug|info|warn|error|fatal)$/), msg: expect.any(String), role, node: expect.stringMatching(new RegExp(`^${role}-`)) });
        expect(Number.isNaN(Date.parse(line.time as string))).toBe(false);
      }
    }
    // The ingestor says it runs, as JSON.
    expect(jsonLines(ingestor).some((line) => /ingestor .* running/.test(line.msg as string))).toBe(true);
  });

  it('logs API and page requests with a request id, route, status and duration; accepted webhooks are not logged at info', async () => {
    const pipeline = await api.createPipeline();
    expect((await sendWebhook(web.url, pipeline, { a: 1 }, { id: 'msg_not_logged_at_info' })).status).toBe(202);
    expect((await api.request('GET', `/api/pipelines/${pipeline.id}/stats`)).status).toBe(200);
    const line = await waitFor(
      () => jsonLines(web).find((l) => l.msg === 'request' && l.path === `/api/pipelines/${pipeline.id}/stats`),
      (l) => l !== undefined,
      5000,
      'a request line',
    );
    expect(line).toMatchObject({ level: 'info', reqId: expect.any(String), method: 'GET', path: `/api/pipelines/${pipeline.id}/stats`, status: 200, durationMs: expect.any(Number) });
    expect(jsonLines(web).some((l) => l.route === '/webhooks/:pipelineId' && l.status === 202)).toBe(false);
  });

  it('logs a refused webhook, and never a token, a secret or a body', async () => {
    const pipeline = await api.createPipeline();
    const refused = await sendWebhook(web.url, pipeline, { bodySecret: 'body-value-never-logged' }, { secret: 'whsec_' + Buffer.alloc(24, 7).toString('base64') });
    expect(refused.status).toBe(401);
    // A share link with its token in the query, and a viewer token in a header.
    expect((await fetch(`${web.url}/pipelines/${pipeline.id}?token=${viewerSecret}`)).status).toBe(200);
    // The same name encoded, as the page decodes it: redacted by its decoded name.
    expect((await fetch(`${web.url}/pipelines/${pipeline.id}?view=1&%74oken=${ADMIN_TOKEN}&To%256Ben=${ADMIN_TOKEN}`)).status).toBe(200);
    expect((await fetch(`${web.url}/api/pipelines/${pipeline.id}/stats?%54OKEN=${ADMIN_TOKEN}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${web.url}/api/pipelines`, { headers: { authorization: `Bearer ${viewerSecret}` } })).status).toBe(401);
    await waitFor(() => jsonLines(web).filter((l) => l.msg === 'request' && (l.route === '/api/pipelines' || l.route === '/pipelines/:id' || l.route === '/api/pipelines/:id/stats')).length, (n) => n >= 4, 5000, 'request lines');
    const refusedLine = jsonLines(web).find((l) => l.msg === 'webhook refused');
    expect(refusedLine).toMatchObject({ level: 'warn', status: 401, route: '/webhooks/:pipelineId', path: `/webhooks/${pipeline.id}` });
    const pages = jsonLines(web).filter((l) => l.route === '/pipelines/:id').map((l) => l.path);
    expect(pages).toEqual([`/pipelines/${pipeline.id}?token=[redacted]`, `/pipelines/${pipeline.id}?view=1&%74oken=[redacted]&To%256Ben=[redacted]`]);
    expect(jsonLines(web).some((l) => l.path === `/api/pipelines/${pipeline.id}/stats?%54OKEN=[redacted]`)).toBe(true);
    const all = [...web.lines, ...ingestor.lines].join('\n');
    for (const secret of [viewerSecret, ADMIN_TOKEN, pipeline.signingSecret, 'body-value-never-logged']) expect({ secret, logged: all.includes(secret) }).toEqual({ secret, logged: false });
  });
});
