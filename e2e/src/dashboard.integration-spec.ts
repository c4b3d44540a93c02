import type { INestMicroservice } from '@nestjs/common';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { Api, sendWebhook, startIngestor, startWeb, startWebAt, testEnv, waitFor, type CreatedPipeline, type RunningWeb } from './support/harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '../../test-artifacts');
const UI_TIMEOUT = 15_000;

const text = (page: Page, selector: string) => page.locator(selector).first().innerText();

async function expectText(page: Page, selector: string, expected: string): Promise<void> {
  await page.waitForFunction(([s, e]) => document.querySelector(s)?.textContent?.trim() === e, [selector, expected] as const, { timeout: UI_TIMEOUT }).catch(async () => {
    throw new Error(`${selector} should read "${expected}" but reads "${await text(page, selector).catch(() => '(missing)')}"`);
  });
}

async function expectChartTotal(page: Page, total: number): Promise<void> {
  await page.waitForFunction((t) => document.querySelector('[data-testid="chart"]')?.getAttribute('data-total') === String(t), total, { timeout: UI_TIMEOUT }).catch(async () => {
    throw new Error(`chart should plot ${total} events but plots ${await page.locator('[data-testid="chart"]').getAttribute('data-total')}`);
  });
}

/** Real Chromium against the web app: share link, live count and chart, reconnect after a restart. */
describe('dashboard in the browser', () => {
  const env = testEnv('dashboard');
  let ingestor: INestMicroservice;
  let web: RunningWeb;
  let other: RunningWeb;
  let api: Api;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let orders: CreatedPipeline;
  let signups: CreatedPipeline;
  let viewerToken: string;

  const shot = (name: string, target: Page = page) => target.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    ingestor = await startIngestor(env.config('ingestor', { BUFFER_MAX_WAIT_MS: '50' }));
    web = await startWeb(env.config('web'));
    other = await startWeb(env.config('web'));
    api = new Api(web.url);
    orders = await api.createPipeline({ name: 'Orders' });
    signups = await api.createPipeline({ name: 'Sign-ups' });
    viewerToken = (await api.request('POST', '/api/tokens', { pipelines: [orders.id, signups.id] })).body.token;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await other?.close();
    await ingestor?.close();
    await env.cleanup();
  });

  it('serves the pages without a token and keeps /api protected', async () => {
    for (const path of ['/', `/pipelines/${orders.id}`]) {
      const response = await fetch(web.url + path);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/html');
      const html = await response.text();
      const script = /src="(\/assets\/app-[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const asset = await fetch(web.url + script);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toContain('javascript');
      expect(asset.headers.get('cache-control')).toContain('immutable');
    }
    expect((await fetch(`${web.url}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${web.url}/api/pipelines`)).status).toBe(401);
  });

  it('opens a share link, keeps the token and takes it out of the address bar', async () => {
    await page.goto(`${web.url}/pipelines/${orders.id}?token=${encodeURIComponent(viewerToken)}`);
    await expectText(page, '[data-testid="connection"]', 'live');
    expect(page.url()).toBe(`${web.url}/pipelines/${orders.id}`);
    expect(await page.evaluate(() => localStorage.getItem('dash.token'))).toBe(viewerToken);
    await expectText(page, '[data-testid="count"]', '0');
    expect(await page.locator('[data-testid="empty-state"]').innerText()).toContain(`${web.url}/webhooks/${orders.id}`);
    await shot('empty');
  });

  it('moves the count, the chart and the recent events as webhooks arrive, without a reload', async () => {
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    for (const type of ['order.created', 'order.paid', 'order.created']) {
      expect((await sendWebhook(web.url, orders, { type, total: 42 })).status).toBe(202);
    }
    await expectText(page, '[data-testid="count"]', '3');
    await expectChartTotal(page, 3);
    const batch = Array.from({ length: 5 }, (_, i) => ({ id: `batch_${i}`, type: 'order.shipped', n: i }));
    expect((await sendWebhook(other.url, orders, batch)).status).toBe(202);
    await expectText(page, '[data-testid="count"]', '8');
    await expectChartTotal(page, 8);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="events"] details.event').length === 8, undefined, { timeout: UI_TIMEOUT });
    expect(await page.locator('[data-testid="events"]').innerText()).toContain('order.shipped');
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await shot('live');
  });

  it('switches the chart to the last day by 5 minutes and by hour with the same total', async () => {
    for (const bucket of ['5m', '1h', '1m']) {
      await page.click(`[data-bucket="${bucket}"]`);
      await page.waitForFunction((b) => document.querySelector('[data-testid="chart"]')?.getAttribute('data-bucket') === b, bucket, { timeout: UI_TIMEOUT });
      await expectChartTotal(page, 8);
    }
  });

  it('reconnects after the web app restarts on the same port and shows the right count', async () => {
    const port = Number(new URL(web.url).port);
    await web.close();
    await page.waitForFunction(() => document.querySelector('[data-testid="connection"]')?.textContent !== 'live', undefined, { timeout: UI_TIMEOUT });
    // Events stored while the page's node is down, through another node.
    for (let i = 0; i < 4; i++) expect((await sendWebhook(other.url, orders, { type: 'order.paid', i })).status).toBe(202);
    await waitFor(() => new Api(other.url).stats(orders.id), (stats) => stats.count === 12, UI_TIMEOUT, 'events stored through the other node');
    await shot('reconnecting');

    web = await startWebAt(env.config('web'), port);
    await expectText(page, '[data-testid="connection"]', 'live');
    await expectText(page, '[data-testid="count"]', '12');
    await expectChartTotal(page, 12);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);

    expect((await sendWebhook(web.url, orders, { type: 'order.created' })).status).toBe(202);
    await expectText(page, '[data-testid="count"]', '13');
    await expectChartTotal(page, 13);
    await shot('reconnected');
  });

  it('lists the pipelines the token may see with live counts on /', async () => {
    const batch = Array.from({ length: 1000 }, (_, i) => ({ id: `signup_${i}`, type: 'user.signed_up' }));
    expect((await sendWebhook(web.url, signups, batch)).status).toBe(202);
    await waitFor(() => api.stats(signups.id), (stats) => stats.count === 1000, UI_TIMEOUT, 'sign-ups stored');

    await page.goto(`${web.url}/`);
    await expectText(page, '[data-testid="connection"]', 'live');
    const card = (id: string) => `[data-pipeline-id="${id}"] [data-testid="count"]`;
    await expectText(page, card(orders.id), '13');
    await expectText(page, card(signups.id), '1,000');
    expect(await page.locator('[data-testid="pipeline-card"]').count()).toBe(2);

    expect((await sendWebhook(web.url, orders, { type: 'order.paid' })).status).toBe(202);
    await expectText(page, card(orders.id), '14');
    await shot('home');
  });

  it('asks for a token once when none is kept, and says so when one is rejected', async () => {
    const fresh = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    try {
      const phone = await fresh.newPage();
      await phone.goto(`${web.url}/?token=not-a-valid-token`);
      await phone.waitForSelector('form.gate .alert', { timeout: UI_TIMEOUT });
      await phone.fill('input[name="token"]', viewerToken);
      await Promise.all([phone.waitForEvent('load'), phone.click('form.gate button[type="submit"]')]);
      await expectText(phone, '[data-testid="connection"]', 'live');
      await expectText(phone, `[data-pipeline-id="${signups.id}"] [data-testid="count"]`, '1,000');
      // No horizontal scrolling at phone width.
      expect(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      await shot('home-phone', phone);
      await phone.goto(`${web.url}/pipelines/${orders.id}`);
      await expectText(phone, '[data-testid="count"]', '14');
      expect(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      await shot('pipeline-phone', phone);
    } finally {
      await fresh.close();
    }
  });

  it('stays live on a home page of more pipelines than a socket may subscribe to in a second', async () => {
    // 45 pipelines: subscribed all at once, the socket would be disconnected past 20 a second and
    // the page would loop reconnecting; the page paces its subscribes instead.
    const many = [];
    for (let i = 0; i < 43; i++) many.push(await api.createPipeline({ name: `Many ${i}` }));
    const last = many[many.length - 1];
    await page.goto(`${web.url}/?token=${api.token}`);
    await expectText(page, '[data-testid="connection"]', 'live');
    expect(await page.locator('[data-testid="pipeline-card"]').count()).toBe(45);
    expect((await sendWebhook(web.url, last, { type: 'late' })).status).toBe(202);
    await expectText(page, `[data-pipeline-id="${last.id}"] [data-testid="count"]`, '1');
    expect(await text(page, '[data-testid="connection"]')).toBe('live');
  });
});
