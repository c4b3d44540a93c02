import type { INestMicroservice } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_TOKEN, Api, queryDb, sendWebhook, startIngestor, startWeb, testEnv, type RunningWeb } from './support/harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const UI_TIMEOUT = 30_000;

/** Real Chromium: the pipeline page lists its alerts and follows their state live (alert_updated). */
describe('alerts on the pipeline page', () => {
  const env = testEnv('alertspage', { OUTBOUND_ALLOW_PRIVATE: 'true', ALERT_RETRY_BASE_MS: '100' });
  let ingestor: INestMicroservice;
  let web: RunningWeb;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it)`);
    ingestor = await startIngestor(env.config('ingestor'));
    web = await startWeb(env.config('web'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await ingestor?.close();
    await env.cleanup();
  });

  const stateOf = (alertId: string) => page.locator(`[data-alert-id="${alertId}"]`).getAttribute('data-state');

  it('shows an alert turning firing, then ok, without a reload', async () => {
    const api = new Api(web.url);
    const pipeline = await api.createPipeline({ name: 'Payments' });
    // Nothing listens on port 9: the notifications fail, which the page lists too.
    const { body: alert } = await api.request('POST', `/api/pipelines/${pipeline.id}/alerts`, {
      name: 'Payments quiet',
      condition: { type: 'silence', seconds: 10 },
      channels: [{ type: 'webhook', url: 'http://127.0.0.1:9/hook' }],
    });
    await page.goto(`${web.url}/pipelines/${pipeline.id}?token=${ADMIN_TOKEN}`);
    await page.waitForSelector(`[data-alert-id="${alert.id}"][data-state="ok"]`, { timeout: UI_TIMEOUT });
    expect(await page.locator('[data-testid="alerts"]').innerText()).toContain('Payments quiet');
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));

    await page.waitForSelector(`[data-alert-id="${alert.id}"][data-state="firing"]`, { timeout: UI_TIMEOUT });
    expect(await page.locator(`[data-alert-id="${alert.id}"] [data-testid="alert-state"]`).innerText()).toBe('firing');
    expect((await sendWebhook(web.url, pipeline, { id: 'p1', type: 'payment' })).status).toBe(202);
    await page.waitForSelector(`[data-alert-id="${alert.id}"][data-state="ok"]`, { timeout: UI_TIMEOUT });
    expect(await stateOf(alert.id)).toBe('ok');
    expect(await page.locator(`[data-alert-id="${alert.id}"] [data-testid="alert-last"]`).innerText()).toMatch(/resolved by webhook/);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);

    // The summary says how the last delivery went: refused six times, then given up (not "queued").
    // (Read once, where it matched: the silence may fire again meanwhile, and its delivery start over.)
    const last = await page.waitForFunction(
      (id) => {
        const text = document.querySelector(`[data-alert-id="${id}"] [data-testid="alert-last"]`)?.textContent ?? '';
        return /failed: .* after \d+ attempts/.test(text) ? text : null;
      },
      alert.id,
      { timeout: UI_TIMEOUT },
    );
    expect(await last.jsonValue()).toMatch(/^Last: (firing|resolved) by webhook: failed: .*ECONNREFUSED.* after 6 attempts$/);
  });

  it('offers webhook first and explains why e-mail is off when SMTP_URL is unset', async () => {
    const pipeline = await new Api(web.url).createPipeline({ name: 'No mail' });
    await page.goto(`${web.url}/pipelines/${pipeline.id}?token=${ADMIN_TOKEN}`);
    const form = page.getByTestId('alert-new');
    // Known once the alerts are read: the list answers whether e-mail can be sent.
    await page.waitForSelector('[data-testid="email-unavailable"]:not([hidden])', { timeout: UI_TIMEOUT });
    expect(await form.getByLabel('Channel').inputValue()).toBe('webhook');
    expect(await form.locator('option[value="email"]').isDisabled()).toBe(true);
    const why = form.getByTestId('email-unavailable');
    expect(await why.isVisible()).toBe(true);
    expect(await why.innerText()).toContain('SMTP_URL');
  });

  it('edits an alert (name, condition, channels) through PATCH', async () => {
    const api = new Api(web.url);
    const pipeline = await api.createPipeline({ name: 'Refunds' });
    const { body: alert } = await api.request('POST', `/api/pipelines/${pipeline.id}/alerts`, {
      name: 'Refunds quiet',
      condition: { type: 'silence', seconds: 3600 },
      channels: [{ type: 'webhook', url: 'http://127.0.0.1:9/hook' }],
    });
    await page.goto(`${web.url}/pipelines/${pipeline.id}?token=${ADMIN_TOKEN}`);
    const row = page.locator(`[data-alert-id="${alert.id}"]`);
    await row.getByRole('button', { name: 'Edit' }).click();
    const form = row.getByTestId('alert-edit');
    expect(await form.getByLabel('Alert name').inputValue()).toBe('Refunds quiet');
    expect(await form.getByLabel('Send to').inputValue()).toBe('http://127.0.0.1:9/hook');
    await form.getByLabel('Alert name').fill('Refunds slow');
    await form.getByLabel('Condition').selectOption('rate_below');
    await form.getByLabel('Events per minute').fill('2');
    await form.getByLabel('Window (seconds)').fill('600');
    await form.getByRole('button', { name: 'Add channel' }).click();
    await form.getByLabel('Send to 2').fill('http://127.0.0.1:9/second');
    // At phone width (390 px) the open form, two channels and all, stays inside its card.
    await page.setViewportSize({ width: 390, height: 844 });
    const spill = await page.getByTestId('alerts').evaluate((card) => card.scrollWidth - card.clientWidth);
    expect(spill).toBe(0);
    await page.setViewportSize({ width: 1280, height: 900 });
    await form.getByRole('button', { name: 'Save changes' }).click();
    await page.waitForSelector('[aria-label="Alert Refunds slow"]', { timeout: UI_TIMEOUT });
    expect(await page.getByTestId('alert-edit').count()).toBe(0);
    const [saved] = (await api.request('GET', `/api/pipelines/${pipeline.id}/alerts`)).body.items;
    expect(saved).toMatchObject({
      id: alert.id,
      name: 'Refunds slow',
      condition: { type: 'rate_below', perMinute: 2, seconds: 600 },
      channels: [{ type: 'webhook', url: 'http://127.0.0.1:9/hook' }, { type: 'webhook', url: 'http://127.0.0.1:9/second' }],
      version: 2,
    });
    expect(await page.locator('[aria-label="Alert Refunds slow"]').innerText()).toContain('fewer than 2 events a minute over 600 s');
  });

  it('shows a flapping alert as flapping, with what that means', async () => {
    const api = new Api(web.url);
    const pipeline = await api.createPipeline({ name: 'Flappy' });
    const { body: alert } = await api.request('POST', `/api/pipelines/${pipeline.id}/alerts`, {
      name: 'On and off',
      condition: { type: 'failures' },
      channels: [{ type: 'webhook', url: 'http://127.0.0.1:9/hook' }],
    });
    // Flapping as the evaluator leaves it (the flips themselves are covered by the alerts suite), a flip just now.
    await queryDb(env, `UPDATE alert_rules SET state = 'flapping', since = now(), flips = ARRAY[now()] WHERE id = $1`, [alert.id]);
    await page.goto(`${web.url}/pipelines/${pipeline.id}?token=${ADMIN_TOKEN}`);
    await page.waitForSelector(`[data-alert-id="${alert.id}"][data-state="flapping"]`, { timeout: UI_TIMEOUT });
    const row = page.locator(`[data-alert-id="${alert.id}"]`);
    expect(await row.getByTestId('alert-state').innerText()).toBe('flapping');
    expect(await row.getByTestId('alert-flapping').innerText()).toContain('more than 3 times in 10 minutes');
  });
});
