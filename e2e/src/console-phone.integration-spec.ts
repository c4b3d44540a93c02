import type { INestMicroservice } from '@nestjs/common';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, PHONE, launchChromium, seriousViolations } from './support/browser';
import { ADMIN_TOKEN, Api, queryDb, sendWebhook, startIngestor, startWeb, testEnv, waitFor, type CreatedPipeline, type RunningWeb } from './support/harness';

const UI_TIMEOUT = 15_000;
const ARTIFACTS = join(__dirname, '../../test-artifacts');

/**
 * Every page of the console at phone width (390 px), as an admin and as a viewer, in each state
 * that shows something wide (the secret panel, the empty pipeline's example, the rotate panel,
 * tables, long ids): the page never scrolls sideways, and axe-core finds nothing serious.
 */
describe('the console at phone width', () => {
  const env = testEnv('console_phone');
  let ingestor: INestMicroservice;
  let web: RunningWeb;
  let api: Api;
  let browser: Browser;
  let context: BrowserContext;
  let tab: Page;
  let orders: CreatedPipeline;
  let empty: CreatedPipeline;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    ingestor = await startIngestor(env.config('ingestor', { BUFFER_MAX_WAIT_MS: '50' }));
    web = await startWeb(env.config('web'));
    api = new Api(web.url);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: PHONE, isMobile: true, bypassCSP: true });
    tab = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await ingestor?.close();
    await env.cleanup();
  });

  /** For the docs: what a phone shows. */
  const shot = (name: string, page = tab) => page.screenshot({ path: join(ARTIFACTS, `phone-${name}.png`), fullPage: true });
  const visible = (selector: string, page = tab) => page.locator(selector).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });

  /** The page as shown now: no sideways scroll (with what sticks out, if it does) and no serious axe violation. */
  async function check(label: string, page = tab): Promise<void> {
    await page.waitForLoadState('networkidle');
    const { width, wide } = await page.evaluate(() => {
      const limit = document.documentElement.clientWidth;
      // The outermost elements reaching past the right edge, to say what to fix.
      const wide = [...document.querySelectorAll('body *')]
        .filter((element) => element.getBoundingClientRect().right + scrollX > limit + 0.5 && !(element.parentElement && element.parentElement.getBoundingClientRect().right + scrollX > limit + 0.5))
        .slice(0, 8)
        .map((element) => `${element.tagName.toLowerCase()}.${[...element.classList].join('.')} (${Math.round(element.getBoundingClientRect().right + scrollX)} px) in ${element.parentElement?.tagName}.${element.parentElement?.className} ${element.parentElement?.closest('.table-scroll, .code')?.className ?? ''}`);
      // ...and text spilling out of a box that is itself narrow enough.
      for (const element of document.querySelectorAll('body *')) {
        if (wide.length >= 8) break;
        const box = element.getBoundingClientRect();
        if (getComputedStyle(element).overflowX === 'visible' && box.left + scrollX + element.scrollWidth > limit + 0.5 && box.right + scrollX <= limit + 0.5 && !element.querySelector('*')) wide.push(`text of ${element.tagName.toLowerCase()}.${[...element.classList].join('.')} (${Math.round(box.left + scrollX + element.scrollWidth)} px)`);
      }
      // ...else, the element whose removal brings the page back (searched down from <main>).
      if (document.documentElement.scrollWidth > limit) {
        let parent: Element | null = document.body;
        while (parent) {
          let culprit: Element | null = null;
          for (const child of parent.children) {
            const shown = (child as HTMLElement).style.display;
            (child as HTMLElement).style.display = 'none';
            const fits = document.documentElement.scrollWidth <= limit;
            (child as HTMLElement).style.display = shown;
            if (fits) culprit = child;
          }
          if (!culprit) break;
          wide.push(`${culprit.tagName.toLowerCase()}.${[...culprit.classList].join('.')}`);
          parent = culprit;
        }
      }
      return { width: document.documentElement.scrollWidth, wide };
    });
    if (width > PHONE.width) problems.push(`${label}: ${width} px wide; ${wide.join(', ')}`);
    // Headers and times are never broken across lines ("Stat/us", "03:57:2/4 AM").
    const broken = await page.evaluate(() =>
      [...document.querySelectorAll('thead th, time')]
        .filter((element) => {
          const range = document.createRange();
          if (element.querySelector('.visually-hidden')) return false;
          range.selectNodeContents(element);
          return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size > 1;
        })
        .map((element) => element.textContent),
    );
    if (broken.length) problems.push(`${label}: broken across lines: ${broken.join(' | ')}`);
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      for (const violation of await seriousViolations(page)) problems.push(`${label} ${colorScheme}: ${violation.id} ${violation.help} at ${violation.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }

  it('keeps the admin\'s home within 390 px: empty, with the form, with the new secret panel', async () => {
    await tab.goto(`${web.url}/?token=${encodeURIComponent(ADMIN_TOKEN)}`);
    await visible('main h1');
    await tab.getByRole('button', { name: 'New pipeline' }).waitFor({ timeout: UI_TIMEOUT });
    await check('/ with no pipeline');
    await tab.getByRole('button', { name: 'New pipeline' }).click();
    await tab.getByLabel('Name', { exact: true }).fill('Orders from the European storefront');
    await check('/ with the New pipeline form');
    await tab.getByRole('button', { name: 'Create pipeline' }).click();
    await visible('[data-testid="secret"]');
    await check('/ with the secret panel');
    await shot('new-pipeline');
    await tab.getByRole('button', { name: 'Node.js' }).click();
    await check('/ with the Node.js example');
    const listed = (await api.request('GET', '/api/pipelines')).body.items[0];
    orders = { id: listed.id, signingSecret: await tab.getByTestId('secret').innerText() };
    empty = await api.createPipeline({ name: 'Sign-ups' });
    await tab.goto(`${web.url}/`);
    await visible('[data-testid="pipeline-card"]');
    await check('/ with pipelines');
  });

  it('keeps the pipeline page within 390 px: empty, with events, failures and rejections, with the rotate panel', async () => {
    await tab.goto(`${web.url}/pipelines/${empty.id}`);
    await visible('[data-testid="empty-state"]');
    await check('/pipelines/:id empty');

    const long = 'evt_' + 'x'.repeat(120);
    const events = [{ id: long, type: 'order.created.with.a.rather.long.type.name', note: 'y'.repeat(400) }, ...Array.from({ length: 5 }, (_, i) => ({ id: `evt_${i}`, type: 'order.paid', total: i }))];
    expect((await sendWebhook(web.url, orders, events)).status).toBe(202);
    await queryDb(env, `INSERT INTO ingest_failures (pipeline_id, event_id, event, reason) VALUES ($1, $2, $3, $4)`, [
      orders.id,
      `bad_${'z'.repeat(100)}`,
      JSON.stringify({ id: 'bad', pipelineId: orders.id, type: 'order.created', occurredAt: Date.now(), receivedAt: Date.now(), payload: { note: 'q'.repeat(300) } }),
      `22P05: unsupported Unicode escape sequence ${'detail'.repeat(20)}`,
    ]);
    expect((await sendWebhook(web.url, orders, { a: 1 }, { id: `msg_${'w'.repeat(100)}`, timestamp: new Date(Date.now() - 3_601_000) })).status).toBe(401);
    expect((await sendWebhook(web.url, { ...orders, signingSecret: empty.signingSecret }, { a: 1 }, { id: 'msg_wrong_secret' })).status).toBe(401);
    await waitFor(() => api.request('GET', `/api/pipelines/${orders.id}/rejections`), (r) => r.body?.items?.length === 2, UI_TIMEOUT, 'rejections recorded');
    await waitFor(() => api.stats(orders.id), (s) => s.count === 6, UI_TIMEOUT, 'events stored');

    await tab.goto(`${web.url}/pipelines/${orders.id}`);
    await visible('[data-testid="failures"] [data-failure-id]');
    await visible('[data-testid="rejections"] table');
    await visible(`[data-event-id="${long}"]`);
    await tab.locator(`[data-event-id="${long}"] summary`).click();
    await check('/pipelines/:id with events, failures and rejections');
    await tab.getByTestId('rejections').screenshot({ path: join(ARTIFACTS, 'phone-rejections.png') });

    const settings = tab.getByTestId('settings');
    await settings.getByRole('button', { name: 'Rotate secret' }).click();
    await check('/pipelines/:id asking to rotate');
    await settings.getByRole('button', { name: 'Yes, rotate secret' }).click();
    await visible('[data-testid="settings"] [data-testid="secret"]');
    await check('/pipelines/:id with the rotate panel');
    await settings.getByRole('button', { name: 'Delete pipeline' }).click();
    await check('/pipelines/:id asking to delete');
  });

  it('keeps /tokens and /cluster within 390 px', async () => {
    await tab.goto(`${web.url}/tokens`);
    await tab.getByLabel('Label').fill('Support team in the European office');
    await tab.getByLabel('Orders from the European storefront').check();
    await tab.getByLabel('Sign-ups').check();
    await tab.getByRole('button', { name: 'Create token' }).click();
    await visible('[data-testid="link"]');
    await visible('[data-testid="tokens"]');
    await check('/tokens with a share link and the list');
    await tab.getByRole('button', { name: 'Revoke' }).click();
    await check('/tokens asking to revoke');

    await tab.goto(`${web.url}/cluster`);
    await visible('[data-node-id]');
    await check('/cluster');
  });

  it('keeps a viewer\'s pages within 390 px', async () => {
    const { body } = await api.request('POST', '/api/tokens', { pipelines: [orders.id, empty.id] });
    const viewer = await browser.newContext({ viewport: PHONE, isMobile: true, bypassCSP: true });
    try {
      const page = await viewer.newPage();
      await page.goto(`${web.url}/?token=${encodeURIComponent(body.token)}`);
      await visible('[data-testid="pipeline-card"]', page);
      await check('viewer /', page);
      await page.goto(`${web.url}/pipelines/${orders.id}`);
      await visible('[data-testid="rejections"] table', page);
      await check('viewer /pipelines/:id with events', page);
      await page.goto(`${web.url}/pipelines/${empty.id}`);
      await visible('[data-testid="empty-state"]', page);
      await check('viewer /pipelines/:id empty', page);
      for (const path of ['/tokens', '/cluster']) {
        await page.goto(web.url + path);
        await visible('main h1', page);
        await check(`viewer ${path}`, page);
      }
    } finally {
      await viewer.close();
    }
  });

  it('found no page wider than 390 px and no serious axe violation', () => {
    expect(problems).toEqual([]);
  });
});
