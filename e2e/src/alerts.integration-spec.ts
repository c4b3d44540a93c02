import type { INestMicroservice } from '@nestjs/common';
import { Backlog, RedisKeys } from '@dash/infra';
import { Redis } from 'ioredis';
import { io } from 'socket.io-client';
import { AlertReceiver, MailSink } from './support/alert-receivers';
import { freePort, sleep } from './support/processes';
import {
  ADMIN_TOKEN,
  Api,
  queryDb,
  REDIS_URL,
  sendWebhook,
  startIngestor,
  startWeb,
  testEnv,
  waitFor,
  type CreatedPipeline,
  type RunningWeb,
  type Viewer,
} from './support/harness';

const PUBLIC_URL = 'https://dash.example.test';

/**
 * Alerts end to end, with two ingestors on one database and Redis (so every notification below
 * is also proof that two evaluators notify once), a real SMTP server and a real HTTP receiver
 * that verifies each Standard Webhooks signature with the alert's own secret.
 */
describe('alerts: conditions fire and resolve once, by e-mail and signed webhook', () => {
  let smtpPort: number;
  let env: ReturnType<typeof testEnv>;
  let web: RunningWeb;
  let api: Api;
  const ingestors: INestMicroservice[] = [];
  const receiver = new AlertReceiver();
  let mail: MailSink;

  beforeAll(async () => {
    smtpPort = await freePort();
    mail = new MailSink(smtpPort);
    await mail.start();
    await receiver.start();
    env = testEnv('alerts', {
      OUTBOUND_ALLOW_PRIVATE: 'true',
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      DASH_PUBLIC_URL: PUBLIC_URL,
      ALERT_RETRY_BASE_MS: '100',
    });
    ingestors.push(await startIngestor(env.config('ingestor')));
    ingestors.push(await startIngestor(env.config('ingestor')));
    web = await startWeb(env.config('web'));
    api = new Api(web.url);
  });

  afterAll(async () => {
    await web?.close();
    for (const ingestor of ingestors) await ingestor.close();
    await env?.cleanup();
    await receiver.stop();
    await mail.stop();
  });

  async function createAlert(pipeline: CreatedPipeline, body: Record<string, unknown>, path = `/${pipeline.id}`) {
    const response = await api.request('POST', `/api/pipelines/${pipeline.id}/alerts`, {
      channels: [{ type: 'webhook', url: `${receiver.url}${path}` }],
      ...body,
    });
    expect(response.status).toBe(201);
    if (response.body.signingSecret) receiver.secrets.set(response.body.id, response.body.signingSecret);
    return response.body as { id: string; state: string; signingSecret?: string };
  }

  const alertOf = async (pipelineId: string, alertId: string) =>
    ((await api.request('GET', `/api/pipelines/${pipelineId}/alerts`)).body.items as Array<Record<string, any>>).find((item) => item.id === alertId);

  const notificationRows = (alertId: string) =>
    queryDb<{ kind: string; status: string; episode: number; channel_index: number }>(env, 'SELECT kind, status, episode, channel_index FROM alert_notifications WHERE alert_id = $1 ORDER BY id', [alertId]);

  /** Waits for the receiver to hold `kinds` for this alert, then a few more rounds to catch any repeat. */
  async function expectWebhooks(alertId: string, kinds: string[]): Promise<void> {
    await waitFor(() => receiver.of(alertId).map((entry) => entry.body.type), (got) => got.length >= kinds.length, 30_000, `webhooks ${kinds.join(', ')}`);
    await sleep(2500);
    const got = receiver.of(alertId);
    expect(got.map((entry) => entry.body.type)).toEqual(kinds);
    expect(got.every((entry) => entry.verified)).toBe(true);
  }

  describe('the API', () => {
    let pipeline: CreatedPipeline;

    beforeAll(async () => {
      pipeline = await api.createPipeline({ name: 'api checks' });
    });

    it('creates an alert with its state and a whsec_ secret shown once, and lists it without the secret', async () => {
      const created = await api.request('POST', `/api/pipelines/${pipeline.id}/alerts`, {
        name: 'quiet',
        condition: { type: 'silence', seconds: 3600 },
        channels: [{ type: 'webhook', url: `${receiver.url}/x` }, { type: 'email', to: ['ops@example.com'] }],
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: expect.any(String), name: 'quiet', state: 'ok', since: expect.any(String), condition: { type: 'silence', seconds: 3600 } });
      expect(created.body.signingSecret).toMatch(/^whsec_/);

      const listed = await api.request('GET', `/api/pipelines/${pipeline.id}/alerts`);
      expect(listed.status).toBe(200);
      expect(listed.body.items).toEqual([expect.objectContaining({ id: created.body.id, state: 'ok', since: expect.any(String), notifications: [] })]);
      expect(JSON.stringify(listed.body)).not.toContain(created.body.signingSecret);

      // A viewer of the pipeline reads alerts and their state, but not where they go; it changes nothing.
      const viewerToken = (await api.request('POST', '/api/tokens', { pipelines: [pipeline.id] })).body.token as string;
      const viewer = api.withToken(viewerToken);
      const seen = await viewer.request('GET', `/api/pipelines/${pipeline.id}/alerts`);
      expect(seen.status).toBe(200);
      expect(seen.body.items[0].channels).toEqual([{ type: 'webhook' }, { type: 'email' }]);
      expect(JSON.stringify(seen.body)).not.toContain('ops@example.com');
      const post = await viewer.request('POST', `/api/pipelines/${pipeline.id}/alerts`, { name: 'x', condition: { type: 'failures' }, channels: [{ type: 'webhook', url: `${receiver.url}/x` }] });
      expect(post.status).toBe(403);
      expect((await viewer.request('DELETE', `/api/pipelines/${pipeline.id}/alerts/${created.body.id}`)).status).toBe(403);

      const patched = await api.request('PATCH', `/api/pipelines/${pipeline.id}/alerts/${created.body.id}`, { name: 'very quiet' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ name: 'very quiet', condition: { type: 'silence', seconds: 3600 } });
      expect(patched.body.signingSecret).toBeUndefined();
      expect((await api.request('DELETE', `/api/pipelines/${pipeline.id}/alerts/${created.body.id}`)).status).toBe(204);
      expect((await api.request('DELETE', `/api/pipelines/${pipeline.id}/alerts/${created.body.id}`)).status).toBe(404);
      expect((await api.request('GET', `/api/pipelines/${pipeline.id}/alerts`)).body.items).toEqual([]);
    });

    it.each([
      ['a window under 10 s', { name: 'a', condition: { type: 'silence', seconds: 5 }, channels: [{ type: 'webhook', url: 'http://127.0.0.1:1/' }] }],
      ['a rate without perMinute', { name: 'a', condition: { type: 'rate_above', seconds: 60 }, channels: [{ type: 'webhook', url: 'http://127.0.0.1:1/' }] }],
      ['an unknown condition', { name: 'a', condition: { type: 'vibes' }, channels: [{ type: 'webhook', url: 'http://127.0.0.1:1/' }] }],
      ['no channel', { name: 'a', condition: { type: 'failures' }, channels: [] }],
      ['a bad e-mail address', { name: 'a', condition: { type: 'failures' }, channels: [{ type: 'email', to: ['not-an-address'] }] }],
      ['a webhook URL that is not http', { name: 'a', condition: { type: 'failures' }, channels: [{ type: 'webhook', url: 'ftp://example.com/' }] }],
      ['an unknown field', { name: 'a', condition: { type: 'failures' }, channels: [{ type: 'webhook', url: 'http://127.0.0.1:1/' }], extra: 1 }],
      ['no name', { condition: { type: 'failures' }, channels: [{ type: 'webhook', url: 'http://127.0.0.1:1/' }] }],
      ['a body that is not an object', ['nope']],
    ])('answers 400 invalid_request to %s, storing nothing', async (_label, body) => {
      const response = await api.request('POST', `/api/pipelines/${pipeline.id}/alerts`, body);
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: 'invalid_request', message: expect.any(String) });
      expect(await queryDb(env, 'SELECT id FROM alert_rules WHERE pipeline_id = $1', [pipeline.id])).toEqual([]);
    });

    it('answers 404 for an unknown pipeline or alert, and 400 to an empty change', async () => {
      const body = { name: 'a', condition: { type: 'failures' }, channels: [{ type: 'webhook', url: 'http://127.0.0.1:1/' }] };
      expect((await api.request('POST', '/api/pipelines/00000000-0000-4000-8000-000000000000/alerts', body)).status).toBe(404);
      expect((await api.request('PATCH', `/api/pipelines/${pipeline.id}/alerts/00000000-0000-4000-8000-000000000000`, { name: 'b' })).status).toBe(404);
      expect((await api.request('PATCH', `/api/pipelines/${pipeline.id}/alerts/not-a-uuid`, { name: 'b' })).status).toBe(404);
      const created = await createAlert(pipeline, { name: 'x', condition: { type: 'failures' } });
      expect((await api.request('PATCH', `/api/pipelines/${pipeline.id}/alerts/${created.id}`, {})).status).toBe(400);
      await api.request('DELETE', `/api/pipelines/${pipeline.id}/alerts/${created.id}`);
    });

    it('keeps at most 20 alerts per pipeline even when 28 are created at once, 5 channels per alert and 10 addresses per e-mail channel', async () => {
      const capped = await api.createPipeline({ name: 'capped' });
      const body = (name: string) => ({ name, condition: { type: 'failures' }, channels: [{ type: 'webhook', url: `${receiver.url}/capped` }] });
      const answers = await Promise.all(Array.from({ length: 28 }, (_, i) => api.request('POST', `/api/pipelines/${capped.id}/alerts`, body(`a${i}`))));
      expect(answers.filter((r) => r.status === 201)).toHaveLength(20);
      const refused = answers.filter((r) => r.status !== 201);
      expect(refused).toHaveLength(8);
      for (const r of refused) expect(r).toMatchObject({ status: 400, body: { error: 'invalid_request', message: expect.stringContaining('at most 20 alerts') } });
      expect(await queryDb(env, 'SELECT id FROM alert_rules WHERE pipeline_id = $1', [capped.id])).toHaveLength(20);

      const hook = { type: 'webhook', url: `${receiver.url}/capped` };
      const sixChannels = await api.request('POST', `/api/pipelines/${pipeline.id}/alerts`, { ...body('six'), channels: Array(6).fill(hook) });
      expect(sixChannels).toMatchObject({ status: 400, body: { error: 'invalid_request', message: expect.stringContaining('at most 5 channels per alert') } });
      const to = Array.from({ length: 11 }, (_, i) => `ops${i}@example.com`);
      const elevenAddresses = await api.request('POST', `/api/pipelines/${pipeline.id}/alerts`, { ...body('eleven'), channels: [{ type: 'email', to }] });
      expect(elevenAddresses).toMatchObject({ status: 400, body: { error: 'invalid_request', message: expect.stringContaining('at most 10 addresses per e-mail channel') } });
      // A change is held to the same limits.
      const [first] = answers.filter((r) => r.status === 201);
      const patched = await api.request('PATCH', `/api/pipelines/${capped.id}/alerts/${first.body.id}`, { channels: Array(6).fill(hook) });
      expect(patched.status).toBe(400);
      expect(await queryDb(env, 'SELECT id FROM alert_rules WHERE pipeline_id = $1', [pipeline.id])).toEqual([]);
      expect((await api.request('GET', `/api/pipelines/${capped.id}/alerts`)).body.emailAvailable).toBe(true);
    });

    it('refuses an e-mail channel without SMTP_URL and a private webhook URL without OUTBOUND_ALLOW_PRIVATE', async () => {
      const strict = await startWeb(env.config('web', { SMTP_URL: '', OUTBOUND_ALLOW_PRIVATE: 'false' }));
      try {
        const strictApi = new Api(strict.url);
        const email = await strictApi.request('POST', `/api/pipelines/${pipeline.id}/alerts`, { name: 'e', condition: { type: 'failures' }, channels: [{ type: 'email', to: ['ops@example.com'] }] });
        expect(email.status).toBe(400);
        expect(email.body).toEqual({ error: 'invalid_request', message: expect.stringContaining('SMTP_URL') });
        // The page learns it before anyone submits.
        expect((await strictApi.request('GET', `/api/pipelines/${pipeline.id}/alerts`)).body.emailAvailable).toBe(false);
        for (const url of ['http://127.0.0.1:8080/hook', 'http://10.1.2.3/hook', 'http://[::1]/hook', 'http://169.254.169.254/latest', 'http://localhost/hook']) {
          const hook = await strictApi.request('POST', `/api/pipelines/${pipeline.id}/alerts`, { name: 'w', condition: { type: 'failures' }, channels: [{ type: 'webhook', url }] });
          expect(hook.status).toBe(400);
          expect(hook.body).toEqual({ error: 'private_address', message: expect.stringContaining('OUTBOUND_ALLOW_PRIVATE') });
        }
        expect(await queryDb(env, 'SELECT id FROM alert_rules WHERE pipeline_id = $1', [pipeline.id])).toEqual([]);
      } finally {
        await strict.close();
      }
    });
  });

  it('silence: fires once by webhook and e-mail (subject, link), resolves once when an event arrives, live on the page socket', async () => {
    const pipeline = await api.createPipeline({ name: 'orders' });
    const socket: Viewer = io(web.url, { transports: ['websocket'], auth: { token: ADMIN_TOKEN }, reconnection: false, forceNew: true });
    const updates: Array<{ alertId: string; state: string }> = [];
    socket.on('alert_updated', (update) => updates.push(update));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await new Promise((resolve) => socket.emit('subscribe', { pipelineId: pipeline.id }, resolve));
    try {
      const alert = await createAlert(pipeline, {
        name: 'orders quiet',
        condition: { type: 'silence', seconds: 10 },
        channels: [{ type: 'webhook', url: `${receiver.url}/silence` }, { type: 'email', to: ['ops@example.com'] }],
      });
      expect(alert.state).toBe('ok');
      await waitFor(() => alertOf(pipeline.id, alert.id), (a) => a?.state === 'firing', 30_000, 'firing');
      await waitFor(() => mail.mails.filter((m) => m.subject.includes('orders quiet')).length, (n) => n >= 1, 20_000, 'firing e-mail');
      const firing = mail.mails.find((m) => m.subject.includes('orders quiet'));
      expect(firing?.subject).toBe('[Dash] Firing: orders quiet on pipeline orders');
      expect(firing?.to).toEqual(['ops@example.com']);
      expect(firing?.text).toContain(`${PUBLIC_URL}/pipelines/${pipeline.id}`);
      await waitFor(() => updates, (u) => u.some((x) => x.alertId === alert.id && x.state === 'firing'), 10_000, 'alert_updated firing');

      expect((await sendWebhook(web.url, pipeline, { id: 'e1', type: 'order.created' })).status).toBe(202);
      await waitFor(() => alertOf(pipeline.id, alert.id), (a) => a?.state === 'ok', 20_000, 'resolved');
      await expectWebhooks(alert.id, ['alert.firing', 'alert.resolved']);
      const [first, second] = receiver.of(alert.id);
      expect(first.body).toEqual({
        type: 'alert.firing',
        alert: { id: alert.id, name: 'orders quiet', condition: { type: 'silence', seconds: 10 } },
        pipeline: { id: pipeline.id, name: 'orders' },
        at: expect.any(String),
        url: `${PUBLIC_URL}/pipelines/${pipeline.id}`,
      });
      expect(second.id).not.toBe(first.id);
      await waitFor(() => mail.mails.filter((m) => m.subject.includes('orders quiet')).map((m) => m.subject), (s) => s.length >= 2, 20_000, 'resolved e-mail');
      expect(mail.mails.filter((m) => m.subject.includes('orders quiet')).map((m) => m.subject)).toEqual([
        '[Dash] Firing: orders quiet on pipeline orders',
        '[Dash] Resolved: orders quiet on pipeline orders',
      ]);
      await waitFor(() => updates, (u) => u.some((x) => x.alertId === alert.id && x.state === 'ok'), 10_000, 'alert_updated ok');

      const listed = await alertOf(pipeline.id, alert.id);
      expect(listed?.notifications).toHaveLength(4);
      expect(listed?.notifications.every((n: { status: string }) => n.status === 'sent')).toBe(true);
      expect((await notificationRows(alert.id)).map((r) => `${r.episode}:${r.kind}:${r.channel_index}`).sort()).toEqual(['1:firing:0', '1:firing:1', '1:resolved:0', '1:resolved:1']);
    } finally {
      socket.disconnect();
    }
  });

  it('rate_above: fires on a burst and resolves when the window empties', async () => {
    const pipeline = await api.createPipeline({ name: 'burst' });
    const alert = await createAlert(pipeline, { name: 'too many', condition: { type: 'rate_above', perMinute: 30, seconds: 10 } });
    await sleep(1500);
    expect((await alertOf(pipeline.id, alert.id))?.state).toBe('ok');
    // 10 events in 10 s is 60 a minute.
    const events = Array.from({ length: 10 }, (_, i) => ({ id: `b${i}`, type: 'tick' }));
    expect((await sendWebhook(web.url, pipeline, events)).status).toBe(202);
    await expectWebhooks(alert.id, ['alert.firing']);
    await waitFor(() => alertOf(pipeline.id, alert.id), (a) => a?.state === 'ok', 30_000, 'resolved');
    await expectWebhooks(alert.id, ['alert.firing', 'alert.resolved']);
  });

  it('rate_below: waits a whole window, fires while too slow, resolves when the rate recovers', async () => {
    const pipeline = await api.createPipeline({ name: 'trickle' });
    const alert = await createAlert(pipeline, { name: 'too few', condition: { type: 'rate_below', perMinute: 30, seconds: 10 } });
    await waitFor(() => alertOf(pipeline.id, alert.id), (a) => a?.state === 'firing', 30_000, 'firing');
    const events = Array.from({ length: 20 }, (_, i) => ({ id: `t${i}`, type: 'tick' }));
    expect((await sendWebhook(web.url, pipeline, events)).status).toBe(202);
    await waitFor(() => alertOf(pipeline.id, alert.id), (a) => a?.state === 'ok', 20_000, 'resolved');
    await expectWebhooks(alert.id, ['alert.firing', 'alert.resolved']);
  });

  it('failures: fires when an event cannot be stored, resolves when none failed for the window', async () => {
    const pipeline = await api.createPipeline({ name: 'poison' });
    const alert = await createAlert(pipeline, { name: 'refused', condition: { type: 'failures', seconds: 10 } });
    // An event the database refuses (intake refuses what jsonb cannot hold, so a CHECK stands in).
    await queryDb(env, `ALTER TABLE events ADD CONSTRAINT dash_test_refused CHECK (type IS DISTINCT FROM 'refused')`);
    try {
      expect((await sendWebhook(web.url, pipeline, { id: 'p1', type: 'refused' })).status).toBe(202);
      await expectWebhooks(alert.id, ['alert.firing']);
    } finally {
      await queryDb(env, 'ALTER TABLE events DROP CONSTRAINT IF EXISTS dash_test_refused');
    }
    await waitFor(() => alertOf(pipeline.id, alert.id), (a) => a?.state === 'ok', 30_000, 'resolved');
    await expectWebhooks(alert.id, ['alert.firing', 'alert.resolved']);
  });

  it('backlog_full: fires when webhooks get 429, resolves when they have not for the window', async () => {
    const pipeline = await api.createPipeline({ name: 'flooded' });
    const alert = await createAlert(pipeline, { name: 'shedding', condition: { type: 'backlog_full', seconds: 10 } });
    // Events acknowledged and not yet stored, as the web nodes count them: past the limit, 429.
    const redis = new Redis(REDIS_URL);
    const backlog = new Backlog(redis, new RedisKeys(env.name));
    try {
      await backlog.add('alerts-test-job', { [pipeline.id]: 100_000 });
      const shed = await waitFor(() => sendWebhook(web.url, pipeline, { id: 'f1', type: 'x' }), (r) => r.status === 429, 10_000, '429');
      expect(shed.body.error).toBe('backlog_full');
      await expectWebhooks(alert.id, ['alert.firing']);
    } finally {
      await backlog.release('alerts-test-job');
      redis.disconnect();
    }
    await waitFor(() => alertOf(pipeline.id, alert.id), (a) => a?.state === 'ok', 30_000, 'resolved');
    await expectWebhooks(alert.id, ['alert.firing', 'alert.resolved']);
  });

  it('flapping: the 4th flip within 10 minutes sends one alert.flapping and then nothing; 10 minutes steady, it says its state once', async () => {
    const pipeline = await api.createPipeline({ name: 'flappy' });
    const alert = await createAlert(pipeline, {
      name: 'on and off',
      condition: { type: 'failures', seconds: 60 },
      channels: [{ type: 'webhook', url: `${receiver.url}/flappy` }, { type: 'email', to: ['ops@example.com'] }],
    });
    // The condition driven through its input: a failure listed, or none.
    const setFailing = (on: boolean) =>
      on
        ? queryDb(env, `INSERT INTO ingest_failures (pipeline_id, event_id, event, reason) VALUES ($1, gen_random_uuid()::text, '{}', 'test')`, [pipeline.id])
        : queryDb(env, 'DELETE FROM ingest_failures WHERE pipeline_id = $1', [pipeline.id]);
    for (const [on, state] of [[true, 'firing'], [false, 'ok'], [true, 'firing'], [false, 'flapping']] as const) {
      await setFailing(on);
      await waitFor(() => alertOf(pipeline.id, alert.id), (a) => a?.state === state, 20_000, state);
    }
    // Flips while flapping send nothing.
    await setFailing(true);
    await sleep(2500);
    await setFailing(false);
    await expectWebhooks(alert.id, ['alert.firing', 'alert.resolved', 'alert.firing', 'alert.flapping']);
    expect((await alertOf(pipeline.id, alert.id))?.state).toBe('flapping');
    await waitFor(() => mail.mails.filter((m) => m.subject.includes('on and off')).length, (n) => n >= 4, 20_000, 'four e-mails');
    const subjects = mail.mails.filter((m) => m.subject.includes('on and off')).map((m) => m.subject);
    expect(subjects.sort()).toEqual(['[Dash] Firing: on and off on pipeline flappy', '[Dash] Firing: on and off on pipeline flappy', '[Dash] Flapping: on and off on pipeline flappy', '[Dash] Resolved: on and off on pipeline flappy']);
    expect(mail.mails.find((m) => m.subject.startsWith('[Dash] Flapping: on and off'))?.text).toContain('more than 3 times in 10 minutes');

    // Ten minutes without a flip (the recorded flips moved into the past): it settles on its condition, once.
    await queryDb(env, `UPDATE alert_rules SET flips = array(SELECT t - interval '10 minutes' FROM unnest(flips) AS t) WHERE id = $1`, [alert.id]);
    await waitFor(() => alertOf(pipeline.id, alert.id), (a) => a?.state === 'ok', 20_000, 'settled');
    await expectWebhooks(alert.id, ['alert.firing', 'alert.resolved', 'alert.firing', 'alert.flapping', 'alert.resolved']);
    const kinds = (await alertOf(pipeline.id, alert.id))?.notifications.map((n: { kind: string; channel: string }) => `${n.kind} ${n.channel}`);
    expect(kinds.filter((k: string) => k.startsWith('flapping')).sort()).toEqual(['flapping email', 'flapping webhook']);
  });

  it('retries a dead receiver and a down SMTP server with backoff, then records each as failed with the error', async () => {
    const pipeline = await api.createPipeline({ name: 'unreachable' });
    receiver.failing.add('/down');
    await mail.stop();
    try {
      const alert = await createAlert(pipeline, {
        name: 'nobody listens',
        condition: { type: 'silence', seconds: 10 },
        channels: [{ type: 'webhook', url: `${receiver.url}/down` }, { type: 'email', to: ['ops@example.com'] }],
      });
      const failed = await waitFor(
        () => alertOf(pipeline.id, alert.id),
        (a) => a?.notifications?.length === 2 && a.notifications.every((n: { status: string }) => n.status === 'failed'),
        60_000,
        'both notifications failed',
      );
      const byChannel = Object.fromEntries(failed?.notifications.map((n: { channel: string }) => [n.channel, n]));
      expect(byChannel.webhook).toMatchObject({ kind: 'firing', status: 'failed', attempts: 6, error: expect.stringContaining('500') });
      expect(byChannel.email).toMatchObject({ kind: 'firing', status: 'failed', attempts: 6, error: expect.stringMatching(/ECONNREFUSED|connect/i) });
      expect(receiver.of(alert.id)).toEqual([]);
    } finally {
      receiver.failing.delete('/down');
      await mail.start();
    }
  });
});
