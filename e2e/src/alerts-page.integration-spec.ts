import type { INestMicroservice } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_TOKEN, Api, sendWebhook, startIngestor, startWeb, testEnv, type RunningWeb } from './support/harness';

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
  });
});
