import type { INestMicroservice } from '@nestjs/common';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { SEARCH_BUDGET } from '@dash/infra';
import { MAX_SEARCH_REQUESTS } from '../../apps/web/client/api';
import { IngestQueue } from '../../apps/web/src/webhooks/ingest-queue';
import { CHROMIUM, DESKTOP, PHONE, launchChromium, seriousViolations } from './support/browser';
import { ADMIN_TOKEN, Api, queryDb, sendWebhook, startIngestor, startWeb, testEnv, waitFor, type CreatedPipeline, type RunningWeb } from './support/harness';

const ARTIFACTS = join(__dirname, '../../test-artifacts');
const UI_TIMEOUT = 15_000;

/** Waits until a locator's text matches (Playwright's own expect is not in this jest setup). */
async function expectText(locator: Locator, expected: string | RegExp): Promise<string> {
  const matches = (text: string) => (typeof expected === 'string' ? text.includes(expected) : expected.test(text));
  let last = '(missing)';
  const deadline = Date.now() + UI_TIMEOUT;
  while (Date.now() < deadline) {
    last = (await locator.first().innerText({ timeout: 1000 }).catch(() => '(missing)')).trim();
    if (matches(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`expected ${String(expected)} but read "${last}"`);
}

const visible = (locator: Locator) => locator.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });

/** The management controls a viewer must never see, by their visible names. */
const MANAGEMENT = ['New pipeline', 'Replay', 'Discard', 'Save changes', 'Rotate secret', 'Delete', 'Create token', 'Revoke', 'Create alert'];

/**
 * The dashboard as a console, in real Chromium: an admin creates a pipeline, reads its events,
 * failures and rejected deliveries, edits it, rotates its secret, shares and revokes a viewer
 * link, looks at the cluster and deletes the pipeline, all by the controls' visible names; a
 * viewer sees none of the management controls; axe-core finds no serious violation anywhere.
 */
describe('dashboard console in the browser', () => {
  const env = testEnv('console');
  let ingestor: INestMicroservice;
  let web: RunningWeb;
  let api: Api;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let created: CreatedPipeline;
  let other: CreatedPipeline;
  let shareLink = '';

  const shot = (name: string, target: Page = page) => target.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });
  /** One section of a page, for the docs (a whole pipeline page is too tall to read). */
  const shotOf = (name: string, target: Locator) => target.screenshot({ path: join(ARTIFACTS, `console-${name}.png`) });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    ingestor = await startIngestor(env.config('ingestor', { BUFFER_MAX_WAIT_MS: '50' }));
    // Alert webhooks go to a local receiver in this test.
    web = await startWeb(env.config('web', { OUTBOUND_ALLOW_PRIVATE: 'true' }));
    api = new Api(web.url);
    other = await api.createPipeline({ name: 'Sign-ups' });
    browser = await launchChromium();
    admin = await browser.newContext({ viewport: DESKTOP });
    page = await admin.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await ingestor?.close();
    await env.cleanup();
  });

  it('creates a pipeline with New pipeline and shows its signing secret once, with examples that work', async () => {
    await page.goto(`${web.url}/?token=${encodeURIComponent(ADMIN_TOKEN)}`);
    await page.getByRole('button', { name: 'New pipeline' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Orders');
    await page.getByRole('button', { name: 'Create pipeline' }).click();

    const secret = await expectText(page.getByTestId('secret'), /^whsec_/);
    await visible(page.getByRole('button', { name: 'Copy secret' }));
    const examples = page.locator('[data-testid="signing-secret"] pre');
    expect(await examples.innerText()).toContain(secret);
    await page.getByRole('button', { name: 'Node.js' }).click();
    expect(await examples.innerText()).toContain(`new Webhook(secret)`);
    await shot('new-pipeline');

    const listed = (await api.request('GET', '/api/pipelines')).body.items.find((p: { name: string }) => p.name === 'Orders');
    expect(listed).toBeDefined();
    created = { id: listed.id, signingSecret: secret };
    // The list has it at once, while its secret is still shown, and follows it live.
    const card = page.locator(`[data-testid="pipeline-card"][data-pipeline-id="${created.id}"]`);
    await expectText(card, 'Orders');
    await expectText(page.locator('.page-head p'), '2 pipelines');
    await visible(page.getByTestId('secret'));
    expect(await examples.innerText()).toContain(`${web.url}/webhooks/${created.id}`);
    // The secret shown is the one that verifies.
    expect((await sendWebhook(web.url, created, { type: 'order.created', n: 0 })).status).toBe(202);
    await expectText(card.getByTestId('count'), '1');

    await page.getByRole('link', { name: 'Open Orders' }).click();
    await page.waitForURL(`${web.url}/pipelines/${created.id}`);
    await expectText(page.getByTestId('count'), '1');
  });

  it('says why a pipeline cannot be saved instead of failing silently', async () => {
    await page.goto(`${web.url}/`);
    await page.getByRole('button', { name: 'New pipeline' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Feed');
    await page.getByRole('radio', { name: /^Poll/ }).check();
    await page.getByLabel('Poll URL').fill('https://example.com/feed');
    await page.getByLabel('Items path').fill('data..items');
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await expectText(page.locator('form [role="alert"]'), /\(\w+\)$/);
    const names = (await api.request('GET', '/api/pipelines')).body.items.map((p: { name: string }) => p.name);
    expect(names).not.toContain('Feed');
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.locator('form').count()).toBe(0);
  });

  it('filters events by type, finds one by id, pages through them and shows a payload to copy', async () => {
    const batch = Array.from({ length: 24 }, (_, i) => ({ id: `evt_${String(i).padStart(2, '0')}`, type: i % 3 === 0 ? 'order.paid' : 'order.created', n: i, nested: { ok: true } }));
    expect((await sendWebhook(web.url, created, batch)).status).toBe(202);
    await page.goto(`${web.url}/pipelines/${created.id}`);
    await expectText(page.getByTestId('count'), '25');
    const rows = page.locator('[data-testid="events"] details.event');
    await waitFor(() => rows.count(), (n) => n === 20, UI_TIMEOUT, 'first page of 20');

    await page.getByRole('button', { name: 'Older' }).click();
    await waitFor(() => rows.count(), (n) => n === 5, UI_TIMEOUT, 'second page of 5');
    await page.getByRole('button', { name: 'Newer' }).click();
    await waitFor(() => rows.count(), (n) => n === 20, UI_TIMEOUT, 'back to the first page');

    // By keyboard: type into the filter and press Enter.
    await page.getByLabel('Type', { exact: true }).fill('order.paid');
    await page.getByLabel('Type', { exact: true }).press('Enter');
    await waitFor(() => rows.count(), (n) => n === 8, UI_TIMEOUT, 'the 8 order.paid events');
    expect(new Set(await page.locator('[data-testid="events"] .badge-type').allInnerTexts())).toEqual(new Set(['order.paid']));

    await page.getByLabel('Event id', { exact: true }).fill('evt_07');
    await page.getByRole('button', { name: 'Find' }).click();
    await waitFor(() => page.locator('[data-testid="events"] details.event').evaluateAll((all) => all.map((e) => e.getAttribute('data-event-id'))), (ids) => ids.join() === 'evt_07', UI_TIMEOUT, 'exactly evt_07');
    await page.locator('[data-event-id="evt_07"] summary').click();
    await visible(page.getByRole('button', { name: 'Copy payload' }));
    const pretty = await page.locator('[data-event-id="evt_07"] pre').innerText();
    expect(pretty).toContain('\n  "nested": {\n    "ok": true\n  }');
    expect(JSON.parse(pretty)).toEqual(batch[7]);

    await page.getByRole('button', { name: 'Show all' }).click();
    await waitFor(() => rows.count(), (n) => n === 20, UI_TIMEOUT, 'all events again');
    await shotOf('events', page.locator('section[aria-labelledby="events-title"]'));
  });

  it('says a filtered search is still going and searches further back, by type, payload field and id alike, never "no events"', async () => {
    const archive = await api.createPipeline({ name: 'Archive' });
    // The one match is the oldest event; after it come more events than a page's search examines
    // (its requests × the server's work bound), so every filter's first page stops short of it.
    const after = SEARCH_BUDGET.rows * MAX_SEARCH_REQUESTS + 5_000;
    await queryDb(
      env,
      `INSERT INTO events (pipeline_id, event_id, type, occurred_at, received_at, payload)
       SELECT $1, CASE WHEN i = 0 THEN 'evt_wanted' ELSE 'evt_' || i END, CASE WHEN i = 0 THEN 'order.refunded' ELSE 'order.created' END,
         now() - interval '1 day' + i * interval '100 milliseconds', now(), jsonb_build_object('data', jsonb_build_object('customer', CASE WHEN i = 0 THEN 'cus_wanted' ELSE 'c' || i % 100 END))
       FROM generate_series(0, $2::int) AS i`,
      [archive.id, after],
    );
    // axe-core runs on the stopped search, so this context bypasses the pages' CSP.
    const context = await browser.newContext({ viewport: DESKTOP, bypassCSP: true });
    try {
      const tab = await context.newPage();
      await tab.goto(`${web.url}/pipelines/${archive.id}?token=${encodeURIComponent(ADMIN_TOKEN)}`);
      const events = tab.getByTestId('events');
      const note = tab.locator('section[aria-labelledby="events-title"] [role="status"]');
      const further = tab.getByRole('button', { name: 'Search further back' });
      const ids = () => events.locator('details.event').evaluateAll((all) => all.map((e) => e.getAttribute('data-event-id')));

      /** The search stopped short: said so, with the way on, never as a final "no events". */
      async function expectStopped(label: string): Promise<void> {
        await visible(further);
        expect(await note.innerText()).toBe(`${label} · older events not searched yet`);
        expect(await ids()).toEqual([]);
        expect(await events.innerText()).not.toMatch(/No events here|in this pipeline/);
      }

      async function expectFoundFurtherBack(label: string): Promise<void> {
        await further.click();
        await waitFor(ids, (found) => found.join() === 'evt_wanted', UI_TIMEOUT, 'the match further back');
        expect(await further.count()).toBe(0);
        expect(await note.innerText()).toBe(label);
      }

      await tab.getByLabel('Type', { exact: true }).fill('order.refunded');
      await tab.getByLabel('Type', { exact: true }).press('Enter');
      await expectStopped('type order.refunded · page 1');
      expect(await events.innerText()).toContain('No match among the newest events searched so far.');
      await shotOf('events-search-further', tab.locator('section[aria-labelledby="events-title"]'));
      for (const colorScheme of ['light', 'dark'] as const) {
        await tab.emulateMedia({ colorScheme });
        expect(await seriousViolations(tab)).toEqual([]);
      }
      await expectFoundFurtherBack('type order.refunded · page 2');

      // A payload filter, as a breakdown link opens the page with it.
      await tab.goto(`${web.url}/pipelines/${archive.id}?where=${encodeURIComponent('data.customer=cus_wanted')}`);
      await expectStopped('data.customer=cus_wanted · page 1');
      await expectFoundFurtherBack('data.customer=cus_wanted · page 2');

      await tab.getByLabel('Event id', { exact: true }).fill('evt_wanted');
      await tab.getByRole('button', { name: 'Find' }).click();
      await expectStopped('event id evt_wanted');
      expect(await events.innerText()).toContain('No event with id evt_wanted among the newest events searched so far.');
      await expectFoundFurtherBack('event id evt_wanted');
    } finally {
      await context.close();
      await api.request('DELETE', `/api/pipelines/${archive.id}`);
    }
  });

  it('lists failures live with their reason and replays them with a result', async () => {
    const failures = page.getByTestId('failures');
    await expectText(failures, 'None: every event was stored.');
    // PostgreSQL refuses a NUL in text (22P05): the event is recorded as a failure, and the
    // open page shows it without a reload or Refresh (failures_updated from the ingestor). It goes
    // straight on the ingest queue (as a replay does), so intake's own checks do not matter here.
    const now = Date.now();
    await web.app.get(IngestQueue).enqueue([{ pipelineId: created.id, id: 'bad_1', type: 'order.created', occurredAt: now, receivedAt: now, payloadJson: JSON.stringify({ id: 'bad_1', type: 'order.created', note: 'a\u0000b' }) }]);
    await expectText(failures.locator('[data-failure-id="bad_1"]'), /22P05/);
    await failures.getByRole('button', { name: 'Replay' }).click();
    await expectText(failures.getByRole('status'), 'Replayed 1: 0 stored, 1 failed again.');
    await expectText(failures.locator('[data-failure-id="bad_1"]'), '2 attempts');
  });

  it('discards a failure after a confirmation, and another open page follows', async () => {
    await queryDb(env, `INSERT INTO ingest_failures (pipeline_id, event_id, event, reason) VALUES ($1, 'bad_kept', $2, '22P05: refused')`, [created.id, JSON.stringify({ id: 'bad_kept', pipelineId: created.id, type: null, occurredAt: Date.now(), receivedAt: Date.now(), payload: {} })]);
    const failures = page.getByTestId('failures');
    const row = failures.locator('[data-failure-id="bad_1"]');
    // A second page of the same pipeline, to see the discard arrive live.
    const second = await admin.newPage();
    try {
      await second.goto(`${web.url}/pipelines/${created.id}`);
      await visible(second.getByTestId('failures').locator('[data-failure-id="bad_1"]'));
      await visible(failures.locator('[data-failure-id="bad_kept"]'));

      await row.getByRole('button', { name: 'Discard' }).click();
      await expectText(row.getByRole('alertdialog'), 'Discard the failed event bad_1?');
      await row.getByRole('button', { name: 'Cancel' }).click();
      expect(await row.getByRole('alertdialog').count()).toBe(0);
      expect((await api.request('GET', `/api/pipelines/${created.id}/failures`)).body.total).toBe(2);

      await row.getByRole('button', { name: 'Discard' }).click();
      await row.getByRole('button', { name: 'Yes, discard' }).click();
      await waitFor(() => row.count(), (n) => n === 0, UI_TIMEOUT, 'the failure gone from the page');
      await expectText(failures.getByRole('status'), 'Discarded bad_1.');
      const left = (await api.request('GET', `/api/pipelines/${created.id}/failures`)).body;
      expect(left.items.map((item: { id: string }) => item.id)).toEqual(['bad_kept']);
      await waitFor(() => second.getByTestId('failures').locator('[data-failure-id="bad_1"]').count(), (n) => n === 0, UI_TIMEOUT, 'the other page following');
      await visible(second.getByTestId('failures').locator('[data-failure-id="bad_kept"]'));
    } finally {
      await second.close();
    }
  });

  it('shows rejected deliveries live, with status, error code, the message the sender got, webhook id and a date', async () => {
    const rejections = page.getByTestId('rejections');
    await expectText(rejections, 'None: no delivery was refused lately.');
    // No reload, no Refresh: rejections_updated brings them.
    expect((await sendWebhook(web.url, created, { type: 'x' }, { id: 'msg_wrong_secret', secret: other.signingSecret })).status).toBe(401);
    const row = rejections.getByRole('row', { name: /msg_wrong_secret/ });
    await expectText(row, /401\s+invalid_signature\s+.+\s+msg_wrong_secret/);
    expect((await sendWebhook(web.url, created, { type: 'x' }, { id: 'msg_late', timestamp: new Date(Date.now() - 3_601_000) })).status).toBe(401);
    const late = rejections.getByRole('row', { name: /msg_late/ });
    await expectText(late, /timestamp_out_of_tolerance\s+webhook-timestamp is 360\d s away from now \(tolerance 300 s\)/);
    // The time carries its date, written as everywhere else on the pages.
    const at = (await api.request('GET', `/api/pipelines/${created.id}/rejections`)).body.items[0].at as string;
    expect(await late.locator('time').innerText()).toBe(await page.evaluate((iso) => new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(iso)), at));
  });

  it('creates an alert with a signed webhook, shows its state and notifications, and deletes it', async () => {
    const alerts = page.getByTestId('alerts');
    await alerts.getByLabel('Alert name').fill('Events failing');
    await alerts.getByLabel('Condition').selectOption('failures');
    await alerts.getByLabel('Channel').selectOption('webhook');
    // Nothing listens there: the notification is recorded, then retried.
    await alerts.getByLabel('Send to').fill('http://127.0.0.1:9/hook');
    await alerts.getByRole('button', { name: 'Create alert' }).click();
    await expectText(alerts.getByTestId('alert-secret'), 'whsec_');
    const row = alerts.getByRole('article', { name: 'Alert Events failing' });
    await expectText(row.getByTestId('alert-state'), /^(ok|firing)$/);

    // A new failure makes it fire; the page shows the state and the notification.
    expect((await sendWebhook(web.url, created, [{ id: 'bad_2', type: 'refused' }])).status).toBe(202);
    await waitFor(
      async () => {
        await alerts.getByRole('button', { name: 'Refresh' }).click();
        return (await row.innerText().catch(() => '')).replace(/\s+/g, ' ');
      },
      (text) => /firing/.test(text) && /1 notification/.test(text),
      30_000,
      'the alert firing with its notification',
    );
    await row.getByText('1 notification').click();
    await expectText(row.locator('.history li'), /firing by webhook/);
    await shotOf('alerts', alerts);
    await shotOf('failures', page.getByTestId('failures'));
    await shotOf('rejections', page.getByTestId('rejections'));

    // Without SMTP_URL, e-mail cannot be chosen, and the form says why before anything is submitted.
    expect(await alerts.locator('form option[value="email"]').isDisabled()).toBe(true);
    await expectText(alerts.getByTestId('email-unavailable'), 'SMTP_URL');

    // Delete asks first: Cancel keeps the alert, Yes removes it.
    await row.getByRole('button', { name: 'Delete' }).click();
    await expectText(row.getByRole('alertdialog'), /Delete .*\?/);
    await row.getByRole('button', { name: 'Cancel' }).click();
    expect((await api.request('GET', `/api/pipelines/${created.id}/alerts`)).body.items).toHaveLength(1);
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: /^Yes, delete / }).click();
    await waitFor(() => row.count(), (n) => n === 0, UI_TIMEOUT, 'the alert gone from the page');
    expect((await api.request('GET', `/api/pipelines/${created.id}/alerts`)).body.items).toEqual([]);
  });

  it('edits the pipeline, rotates its secret (the old one keeps working) from settings', async () => {
    const settings = page.getByTestId('settings');
    await settings.getByLabel('Name', { exact: true }).fill('Orders EU');
    await settings.getByLabel('Event type path').fill('kind');
    await settings.getByRole('button', { name: 'Save changes' }).click();
    await expectText(page.locator('h1'), 'Orders EU');
    const saved = (await api.request('GET', `/api/pipelines/${created.id}`)).body;
    expect(saved).toMatchObject({ name: 'Orders EU', eventTypePath: 'kind' });

    // Asked first: Cancel leaves the secret as it was.
    const secretBefore = await queryDb<{ signing_secret: string; previous_secret: string | null }>(env, 'SELECT signing_secret, previous_secret FROM pipelines WHERE id = $1', [created.id]);
    await settings.getByRole('button', { name: 'Rotate secret' }).click();
    await expectText(settings.getByRole('alertdialog'), `Rotate the signing secret of Orders EU?`);
    await settings.getByRole('alertdialog').getByRole('button', { name: 'Cancel' }).click();
    expect(await settings.getByRole('alertdialog').count()).toBe(0);
    expect(await settings.getByTestId('signing-secret').count()).toBe(0);
    expect(await queryDb(env, 'SELECT signing_secret, previous_secret FROM pipelines WHERE id = $1', [created.id])).toEqual(secretBefore);

    await settings.getByRole('button', { name: 'Rotate secret' }).click();
    await settings.getByRole('button', { name: 'Yes, rotate secret' }).click();
    const panel = settings.getByTestId('signing-secret');
    await expectText(panel, 'keeps working for 24 hours');
    const rotated = await expectText(panel.getByTestId('secret'), /^whsec_/);
    expect(rotated).not.toBe(created.signingSecret);
    expect((await sendWebhook(web.url, created, { kind: 'after.rotation' })).status).toBe(202);
    expect((await sendWebhook(web.url, { ...created, signingSecret: rotated }, { kind: 'after.rotation' })).status).toBe(202);
    created = { ...created, signingSecret: rotated };
    await shotOf('settings', settings);
  });

  it('makes a viewer token on /tokens, shows its share link once and lists it', async () => {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Tokens' }).click();
    await page.waitForURL(`${web.url}/tokens`);
    await page.getByLabel('Label').fill('Support');
    await page.getByLabel('Orders EU').check();
    await page.getByRole('button', { name: 'Create token' }).click();
    shareLink = await expectText(page.getByTestId('link'), `${web.url}/pipelines/${created.id}?token=dash_vt_`);
    await visible(page.getByRole('button', { name: 'Copy link' }));
    const row = page.getByRole('row', { name: /Support/ });
    await expectText(row, 'Orders EU');
    await expectText(row, 'never');
    // Created: with its date, written as every other time on the pages.
    const createdAt = (await api.request('GET', '/api/tokens')).body.items.find((token: { label: string }) => token.label === 'Support').createdAt as string;
    expect(await row.locator('time').first().innerText()).toBe(await page.evaluate((iso) => new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(iso)), createdAt));
    await shot('tokens');
  });

  it('shows a viewer none of the management controls', async () => {
    const viewer = await browser.newContext({ viewport: DESKTOP });
    try {
      const view = await viewer.newPage();
      await view.goto(shareLink);
      await expectText(view.getByTestId('connection'), 'live');
      await visible(view.getByTestId('failures'));
      await visible(view.getByTestId('rejections'));
      await view.goto(`${web.url}/`);
      await visible(view.getByTestId('pipeline-card'));
      for (const path of [`/pipelines/${created.id}`, '/']) {
        await view.goto(web.url + path);
        await expectText(view.getByTestId('connection'), 'live');
        for (const name of MANAGEMENT) expect(await view.getByRole('button', { name }).count()).toBe(0);
        expect(await view.getByRole('navigation', { name: 'Sections' }).isVisible()).toBe(false);
        expect(await view.getByTestId('settings').count()).toBe(0);
      }
      await view.goto(`${web.url}/tokens`);
      await expectText(view.locator('h1'), 'Admin only');
      await view.goto(`${web.url}/cluster`);
      await expectText(view.locator('h1'), 'Admin only');
      await shot('viewer', view);

      // Revoke on /tokens: the viewer's open page loses its live connection.
      await view.goto(shareLink);
      await expectText(view.getByTestId('connection'), 'live');
      // Asked first: Cancel leaves the token working.
      await page.getByRole('row', { name: /Support/ }).getByRole('button', { name: 'Revoke' }).click();
      await expectText(page.getByRole('alertdialog'), 'Revoke Support?');
      await page.getByRole('alertdialog').getByRole('button', { name: 'Cancel' }).click();
      expect(await page.getByRole('alertdialog').count()).toBe(0);
      expect((await api.withToken(new URL(shareLink).searchParams.get('token') ?? '').request('GET', `/api/pipelines/${created.id}`)).status).toBe(200);
      expect(await view.getByTestId('connection').innerText()).toBe('live');

      await page.getByRole('row', { name: /Support/ }).getByRole('button', { name: 'Revoke' }).click();
      await page.getByRole('button', { name: 'Yes, revoke Support' }).click();
      await expectText(page.getByRole('status').filter({ hasText: 'revoked' }), 'Support revoked');
      expect((await api.withToken(new URL(shareLink).searchParams.get('token') ?? '').request('GET', `/api/pipelines/${created.id}`)).status).toBe(401);
      expect(await page.getByRole('row', { name: /Support/ }).count()).toBe(0);
      await expectText(view.getByTestId('connection'), 'token rejected');
    } finally {
      await viewer.close();
    }
  });

  it('shows the cluster nodes with role, region, CPU, memory, sockets and backlog', async () => {
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Cluster' }).click();
    await page.waitForURL(`${web.url}/cluster`);
    await waitFor(() => page.locator('[data-node-id]').count(), (n) => n === 2, UI_TIMEOUT, 'a web node and an ingestor');
    const webNode = page.locator('[data-role="web"]');
    for (const term of ['Region', 'CPU', 'Memory', 'Sockets', 'Backlog']) expect(await webNode.innerText()).toContain(term);
    await expectText(webNode, /Memory\s+[\d,]+\s+MiB/);
    await expectText(page.locator('[data-role="ingestor"]'), /Backlog\s+\d/);
    await shot('cluster');
  });

  it('has no serious or critical axe-core violation on any page, light or dark, desktop or phone', async () => {
    const pages = ['/', `/pipelines/${created.id}`, `/pipelines/${other.id}`, '/tokens', '/cluster'];
    const found: string[] = [];
    for (const viewport of [DESKTOP, PHONE]) {
      const context = await browser.newContext({ viewport, isMobile: viewport === PHONE, bypassCSP: true });
      try {
        const tab = await context.newPage();
        await tab.goto(`${web.url}/?token=${encodeURIComponent(ADMIN_TOKEN)}`);
        for (const path of pages) {
          await tab.goto(web.url + path);
          await visible(tab.locator('main h1'));
          await tab.waitForLoadState('networkidle');
          // The New pipeline form is checked open, as a person filling it sees it.
          if (path === '/') {
            await tab.getByRole('button', { name: 'New pipeline' }).click();
            await visible(tab.getByRole('button', { name: 'Create pipeline' }));
          }
          for (const colorScheme of ['light', 'dark'] as const) {
            await tab.emulateMedia({ colorScheme });
            for (const violation of await seriousViolations(tab)) found.push(`${path} ${viewport.width}px ${colorScheme}: ${violation.id} (${violation.impact}) ${violation.help} at ${violation.nodes.map((n) => n.target.join(' ')).join(', ')}`);
          }
          if (viewport === PHONE) expect(await tab.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
        }
        if (viewport === PHONE) {
          await tab.goto(`${web.url}/pipelines/${created.id}`);
          await tab.emulateMedia({ colorScheme: 'dark' });
          await visible(tab.getByTestId('settings'));
          await shot('pipeline-phone-dark', tab);
        }
      } finally {
        await context.close();
      }
    }
    expect(found).toEqual([]);
  });

  it('moves through the home page by keyboard alone', async () => {
    await page.goto(`${web.url}/`);
    await visible(page.getByRole('button', { name: 'New pipeline' }));
    let focused = '';
    for (let i = 0; i < 20 && focused !== 'New pipeline'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
    }
    expect(focused).toBe('New pipeline');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name)).toBe('name');
  });

  it('deletes the pipeline after a confirmation', async () => {
    await page.goto(`${web.url}/pipelines/${created.id}`);
    const settings = page.getByTestId('settings');
    await settings.getByRole('button', { name: 'Delete pipeline' }).click();
    await expectText(settings.getByRole('alertdialog'), 'Delete Orders EU?');
    await settings.getByRole('button', { name: 'Cancel' }).last().click();
    expect((await api.request('GET', `/api/pipelines/${created.id}`)).status).toBe(200);

    await settings.getByRole('button', { name: 'Delete pipeline' }).click();
    await settings.getByRole('button', { name: 'Yes, delete Orders EU' }).click();
    await page.waitForURL(`${web.url}/`);
    expect((await api.request('GET', `/api/pipelines/${created.id}`)).status).toBe(404);
    await waitFor(() => page.getByTestId('pipeline-card').count(), (n) => n === 1, UI_TIMEOUT, 'one pipeline left');
  });
});
