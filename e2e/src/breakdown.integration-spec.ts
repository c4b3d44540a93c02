import type { INestMicroservice } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BreakdownUpdated, DataUpdated } from '@dash/domain';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { DESKTOP, PHONE, launchChromium, seriousViolations } from './support/browser';
import { ADMIN_TOKEN, Api, connectViewer, sendWebhook, startIngestor, startWeb, testEnv, waitFor, type CreatedPipeline, type RunningWeb, type Viewer } from './support/harness';

const ARTIFACTS = join(__dirname, '../../test-artifacts');
const UI_TIMEOUT = 15_000;
const visible = (locator: Locator) => locator.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });

/** The breakdown table as the page shows it: value → [events, share, measure?]. */
async function tableRows(page: Page): Promise<Record<string, string[]>> {
  return page.evaluate(() => {
    const rows: Record<string, string[]> = {};
    for (const row of document.querySelectorAll('[data-testid="breakdown-table"] tbody tr')) {
      rows[row.getAttribute('data-value') ?? ''] = [...row.querySelectorAll('td.num')].map((cell) => cell.textContent?.trim() ?? '');
    }
    return rows;
  });
}

async function expectRows(page: Page, expected: Record<string, string[]>): Promise<void> {
  await waitFor(() => tableRows(page), (rows) => JSON.stringify(rows) === JSON.stringify(expected), UI_TIMEOUT, `breakdown table ${JSON.stringify(expected)}`);
}

/** The payloads of the events the list shows. */
const listedEvents = (page: Page) => page.evaluate(() => [...document.querySelectorAll('[data-testid="events"] details.event pre')].map((pre) => JSON.parse(pre.textContent ?? 'null') as { data?: { currency?: string } }));

/** Issue 24, the page and live: breakdown by a payload field, filters in the address, the field catalog, live updates. */
describe('breakdowns on the pipeline page', () => {
  const env = testEnv('breakdown-page');
  let ingestor: INestMicroservice;
  let web: RunningWeb;
  /** A second web node: breakdowns are followed on every node of the cluster. */
  let other: RunningWeb;
  let api: Api;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let orders: CreatedPipeline;
  let viewerToken: string;
  const sockets: Viewer[] = [];

  const shot = (name: string, target: Page = page) => target.screenshot({ path: join(ARTIFACTS, `breakdown-${name}.png`), fullPage: true });
  const send = (currency: string, total: number, extra: Record<string, unknown> = {}) => sendWebhook(web.url, orders, { type: 'order.paid', data: { currency, total, ...extra } });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    ingestor = await startIngestor(env.config('ingestor', { BUFFER_MAX_WAIT_MS: '50' }));
    web = await startWeb(env.config('web'));
    other = await startWeb(env.config('web'));
    api = new Api(web.url);
    orders = await api.createPipeline({ name: 'Orders' });
    expect((await api.request('PATCH', `/api/pipelines/${orders.id}`, { dimensions: ['data.currency'], measures: ['data.total'] })).status).toBe(200);
    viewerToken = (await api.request('POST', '/api/tokens', { pipelines: [orders.id] })).body.token;
    // GBP ×1 (7, and a region the catalog learns), EUR ×6 (totals 10..15), USD ×3 (100, 200, 300).
    expect((await send('GBP', 7, { region: 'uk' })).status).toBe(202);
    for (let i = 0; i < 6; i++) expect((await send('EUR', 10 + i)).status).toBe(202);
    for (const total of [100, 200, 300]) expect((await send('USD', total)).status).toBe(202);
    await waitFor(() => api.stats(orders.id), (stats) => stats.count === 10, UI_TIMEOUT, 'ten events stored');
    // The catalog is written after the batch commits.
    await waitFor(async () => (await api.request('GET', `/api/pipelines/${orders.id}/fields`)).body.items.map((item: { path: string }) => item.path), (paths: string[]) => paths.includes('data.region'), UI_TIMEOUT, 'data.region in the catalog');
    browser = await launchChromium();
    context = await browser.newContext({ viewport: DESKTOP });
    page = await context.newPage();
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await browser?.close();
    await web?.close();
    await other?.close();
    await ingestor?.close();
    await env.cleanup();
  });

  it('lists the payload fields, and an admin adds one as a dimension with a click', async () => {
    await page.goto(`${web.url}/pipelines/${orders.id}?token=${encodeURIComponent(ADMIN_TOKEN)}`);
    const fields = page.getByTestId('fields');
    await visible(fields.locator('[data-path="data.region"]'));
    for (const path of ['type', 'data.currency', 'data.total', 'data.region']) await visible(fields.locator(`[data-path="${path}"]`));
    expect(await fields.locator('[data-path="data.total"]').innerText()).toContain('number');
    expect(await fields.locator('[data-path="data.currency"]').innerText()).toContain('"GBP"');
    // Already declared: no add button for it.
    expect(await fields.locator('[data-path="data.currency"]').getByRole('button', { name: 'Add as dimension' }).count()).toBe(0);
    await fields.locator('[data-path="data.region"]').getByRole('button', { name: 'Add as dimension' }).click();
    await waitFor(async () => (await api.request('GET', `/api/pipelines/${orders.id}`)).body.dimensions, (dimensions: string[]) => dimensions.includes('data.region'), UI_TIMEOUT, 'data.region declared');
    expect((await api.request('GET', `/api/pipelines/${orders.id}`)).body.dimensions).toEqual(['data.currency', 'data.region']);
    // The picker offers it at once; the events stored before are counted in the background, with progress shown.
    await waitFor(() => page.getByLabel('Break down by').locator('option').allInnerTexts(), (options) => options.includes('data.region'), UI_TIMEOUT, 'the picker lists data.region');
    await visible(fields.locator('[data-testid="backfill"][data-state="done"]'));
    expect(await fields.getByTestId('backfill').innerText()).toContain('data.region');
    await page.getByLabel('Break down by').selectOption('data.region');
    await expectRows(page, { '(none)': ['9', '90.0%'], uk: ['1', '10.0%'] });
  });

  it('breaks events down by a dimension: the table holds what was sent, with shares and the measure', async () => {
    await page.getByLabel('Break down by').selectOption('data.currency');
    await expectRows(page, { EUR: ['6', '60.0%'], USD: ['3', '30.0%'], GBP: ['1', '10.0%'] });
    await page.getByLabel('Measure').selectOption('sum:data.total');
    await expectRows(page, { EUR: ['6', '60.0%', '75'], USD: ['3', '30.0%', '600'], GBP: ['1', '10.0%', '7'] });
    await waitFor(() => page.getByTestId('breakdown-chart').getAttribute('data-groups'), (groups) => groups === JSON.stringify(['EUR', 'USD', 'GBP']), UI_TIMEOUT, 'a line per currency');
    const url = new URL(page.url());
    expect(url.searchParams.get('by')).toBe('data.currency');
    expect(url.searchParams.get('measure')).toBe('sum:data.total');
    await shot('table');
    // The cards alone, as docs/dashboard.md shows them.
    await page.getByTestId('breakdown').screenshot({ path: join(ARTIFACTS, 'breakdown-desktop.png') });
    await page.getByTestId('fields').screenshot({ path: join(ARTIFACTS, 'fields-desktop.png') });
  });

  it('filters the chart and the events list by a clicked value, and keeps the view in the address across a reload', async () => {
    await page.getByTestId('breakdown-table').getByRole('button', { name: 'EUR' }).click();
    await waitFor(() => listedEvents(page), (events) => events.length === 6 && events.every((event) => event.data?.currency === 'EUR'), UI_TIMEOUT, 'only the EUR events listed');
    await waitFor(() => page.getByTestId('breakdown-chart').getAttribute('data-groups'), (groups) => groups === JSON.stringify(['EUR']), UI_TIMEOUT, 'the chart drawn for EUR only');
    expect(new URL(page.url()).searchParams.getAll('where')).toEqual(['data.currency=EUR']);
    expect(await page.getByTestId('breakdown-table').getByRole('button', { name: 'EUR' }).getAttribute('aria-pressed')).toBe('true');

    await page.reload();
    await expectRows(page, { EUR: ['6', '60.0%', '75'], USD: ['3', '30.0%', '600'], GBP: ['1', '10.0%', '7'] });
    expect(await page.getByLabel('Break down by').inputValue()).toBe('data.currency');
    expect(await page.getByLabel('Measure').inputValue()).toBe('sum:data.total');
    await waitFor(() => listedEvents(page), (events) => events.length === 6 && events.every((event) => event.data?.currency === 'EUR'), UI_TIMEOUT, 'the list still filtered after the reload');
    await waitFor(() => page.getByTestId('breakdown-chart').getAttribute('data-groups'), (groups) => groups === JSON.stringify(['EUR']), UI_TIMEOUT, 'the chart still filtered');

    // Another dimension, with the filter kept: it narrows that breakdown (the EUR events have no region).
    await page.getByLabel('Break down by').selectOption('data.region');
    await expectRows(page, { '(none)': ['6', '100.0%', '75'] });
    await page.getByLabel('Break down by').selectOption('data.currency');
    await expectRows(page, { EUR: ['6', '60.0%', '75'], USD: ['3', '30.0%', '600'], GBP: ['1', '10.0%', '7'] });
  });

  it('opens a viewer link on the same view, without management controls', async () => {
    const viewer = await browser.newContext({ viewport: DESKTOP });
    try {
      const tab = await viewer.newPage();
      const view = new URL(page.url());
      view.searchParams.set('token', viewerToken);
      await tab.goto(view.toString());
      await expectRows(tab, { EUR: ['6', '60.0%', '75'], USD: ['3', '30.0%', '600'], GBP: ['1', '10.0%', '7'] });
      expect(await tab.getByLabel('Break down by').inputValue()).toBe('data.currency');
      await waitFor(() => listedEvents(tab), (events) => events.length === 6 && events.every((event) => event.data?.currency === 'EUR'), UI_TIMEOUT, 'the viewer sees the EUR events');
      // The token left the address; the view stayed.
      const address = new URL(tab.url());
      expect(address.searchParams.get('token')).toBeNull();
      expect(address.searchParams.getAll('where')).toEqual(['data.currency=EUR']);
      await visible(tab.getByTestId('fields').locator('[data-path="data.total"]'));
      for (const name of ['Add as dimension', 'Add as measure', 'Save changes', 'Delete pipeline']) expect(await tab.getByRole('button', { name }).count()).toBe(0);
    } finally {
      await viewer.close();
    }
  });

  it('says when a filtered view covers only the newest events (FILTERED_READ_MAX_EVENTS)', async () => {
    // Six EUR orders a few minutes apart, the newest three in the UK; a node that reads 3 events for a filtered view.
    const timed = await api.createPipeline({ name: 'Timed orders', eventTimePath: 'at' });
    expect((await api.request('PATCH', `/api/pipelines/${timed.id}`, { dimensions: ['data.currency', 'data.region'] })).status).toBe(200);
    const now = Date.now();
    const sent = Array.from({ length: 6 }, (_, i) => ({ type: 'order.paid', at: new Date(now - (10 - i) * 120_000).toISOString(), data: { currency: 'EUR', region: i >= 3 ? 'uk' : 'fr' } }));
    expect((await sendWebhook(web.url, timed, sent)).status).toBe(202);
    await waitFor(() => api.stats(timed.id), (stats) => stats.count === 6, UI_TIMEOUT, 'six events stored');
    const bounded = await startWeb(env.config('web', { FILTERED_READ_MAX_EVENTS: '3' }));
    const tab = await context.newPage();
    try {
      const view = `/pipelines/${timed.id}?by=data.region&where=data.currency%3DEUR&token=${encodeURIComponent(ADMIN_TOKEN)}`;
      await tab.goto(bounded.url + view);
      await expectRows(tab, { uk: ['3', '100.0%'] });
      const status = tab.getByTestId('breakdown-status');
      await waitFor(() => status.getAttribute('data-partial'), (partial) => partial === 'true', UI_TIMEOUT, 'the view marked partial');
      expect(await status.innerText()).toMatch(/^3 events where data\.currency=EUR since .+ only: a filtered view reads the newest stored events, up to a bound; narrow the range for all of it$/);
      // On a node without that bound the same view is whole.
      await tab.goto(web.url + view);
      await expectRows(tab, { fr: ['3', '50.0%'], uk: ['3', '50.0%'] });
      await waitFor(() => tab.getByTestId('breakdown-status').getAttribute('data-partial'), (partial) => partial === 'false', UI_TIMEOUT, 'the view whole');
    } finally {
      await tab.close();
      await bounded.close();
    }
  });

  it('moves the table live as new events arrive, without a reload', async () => {
    await page.getByRole('button', { name: 'Remove filter data.currency = EUR' }).click();
    await waitFor(() => listedEvents(page), (events) => events.length === 10, UI_TIMEOUT, 'every event listed again');
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    // The breakdown read by the click is in: from here only breakdown_updated moves the table.
    await page.waitForSelector('[data-testid="breakdown-chart"]:not(.is-loading)', { timeout: UI_TIMEOUT });
    await expectRows(page, { EUR: ['6', '60.0%', '75'], USD: ['3', '30.0%', '600'], GBP: ['1', '10.0%', '7'] });
    await page.getByTestId('breakdown-table').getByRole('button', { name: 'USD' }).focus();
    for (const total of [1, 2, 3, 4, 5]) expect((await send('USD', total)).status).toBe(202);
    await expectRows(page, { USD: ['8', '53.3%', '615'], EUR: ['6', '40.0%', '75'], GBP: ['1', '6.7%', '7'] });
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    // The redrawn table keeps a keyboard user where they were.
    expect(await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-value'))).toBe('USD');
  });

  it('has no serious axe-core violation and no sideways scroll, light or dark, desktop or phone', async () => {
    const found: string[] = [];
    for (const viewport of [DESKTOP, PHONE]) {
      const tab = await (await browser.newContext({ viewport, isMobile: viewport === PHONE, bypassCSP: true })).newPage();
      try {
        await tab.goto(`${web.url}/pipelines/${orders.id}?by=data.currency&measure=sum%3Adata.total&where=data.currency%3DUSD&token=${encodeURIComponent(ADMIN_TOKEN)}`);
        await waitFor(() => tableRows(tab), (rows) => rows.USD?.[0] === '8', UI_TIMEOUT, 'the table');
        await visible(tab.getByTestId('fields').locator('[data-path="data.total"]'));
        await tab.waitForLoadState('networkidle');
        for (const colorScheme of ['light', 'dark'] as const) {
          await tab.emulateMedia({ colorScheme });
          for (const violation of await seriousViolations(tab)) found.push(`${viewport.width}px ${colorScheme}: ${violation.id} (${violation.impact}) ${violation.help} at ${violation.nodes.map((n) => n.target.join(' ')).join(', ')}`);
        }
        expect(await tab.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
        if (viewport === PHONE) await shot('phone-dark', tab);
      } finally {
        await tab.context().close();
      }
    }
    expect(found).toEqual([]);
  });

  describe('breakdown_updated on the socket', () => {
    const next = <T>(socket: Viewer, event: 'breakdown_updated' | 'data_updated', accept: (update: T) => boolean) =>
      new Promise<T>((resolve) => {
        const listener = (update: T) => {
          if (!accept(update)) return;
          socket.off(event, listener as never);
          resolve(update);
        };
        socket.on(event, listener as never);
      });

    it('goes only to sockets that follow that breakdown, on every web node', async () => {
      const plain = await connectViewer(web.url, viewerToken);
      const follower = await connectViewer(other.url, viewerToken);
      sockets.push(plain, follower);
      const heardByPlain: BreakdownUpdated[] = [];
      plain.on('breakdown_updated', (update) => heardByPlain.push(update));
      expect(await plain.emitWithAck('subscribe', { pipelineId: orders.id })).toMatchObject({ ok: true });
      const ack = await follower.emitWithAck('subscribe', { pipelineId: orders.id, breakdown: { by: 'data.currency', measure: 'data.total' } });
      expect(ack).toMatchObject({ ok: true, breakdownKey: expect.any(String) });

      const count = (await api.stats(orders.id)).count;
      const plainSaw = next<DataUpdated>(plain, 'data_updated', (update) => update.count === count + 1);
      const followerSaw = next<BreakdownUpdated>(follower, 'breakdown_updated', (update) => update.total === count + 1);
      expect((await send('JPY', 9)).status).toBe(202);
      const update = await followerSaw;
      expect(update).toMatchObject({ pipelineId: orders.id, by: 'data.currency', key: ack.ok ? ack.breakdownKey : '' });
      expect(update.items.find((item) => item.value === 'JPY')).toMatchObject({ count: 1, measure: { count: 1, sum: 9, min: 9, max: 9, skipped: 0 } });
      // The breakdown went to its room at once: an acknowledgement on the plain socket, answered after it, comes behind anything sent to that socket.
      await plainSaw;
      await plain.emitWithAck('subscribe', { pipelineId: orders.id });
      expect(heardByPlain).toEqual([]);

      // Leaving the breakdown keeps the pipeline: counts still come, breakdowns do not.
      expect(await follower.emitWithAck('unsubscribe', { pipelineId: orders.id, breakdown: { by: 'data.currency', measure: 'data.total' } })).toEqual({ ok: true });
      const heardAfter: BreakdownUpdated[] = [];
      follower.on('breakdown_updated', (update) => heardAfter.push(update));
      const stillCounted = next<DataUpdated>(follower, 'data_updated', (update) => update.count === count + 2);
      expect((await send('JPY', 1)).status).toBe(202);
      await stillCounted;
      // A recompute of that breakdown would start after this update arrived: wait past it with another follower of the same breakdown.
      const second = await connectViewer(other.url, viewerToken);
      sockets.push(second);
      expect(await second.emitWithAck('subscribe', { pipelineId: orders.id, breakdown: { by: 'data.currency', measure: 'data.total' } })).toMatchObject({ ok: true });
      const otherSaw = next<BreakdownUpdated>(second, 'breakdown_updated', (update) => update.total === count + 3);
      expect((await send('JPY', 2)).status).toBe(202);
      await otherSaw;
      await follower.emitWithAck('subscribe', { pipelineId: orders.id });
      expect(heardAfter).toEqual([]);
    });

    it('refuses breakdowns on undeclared paths, of pipelines the token may not read, and past 8 a socket', async () => {
      const socket = await connectViewer(web.url, viewerToken);
      sockets.push(socket);
      expect(await socket.emitWithAck('subscribe', { pipelineId: orders.id, breakdown: { by: 'data.nope' } })).toMatchObject({ ok: false, error: 'invalid_request', message: expect.stringContaining('data.nope') });
      expect(await socket.emitWithAck('subscribe', { pipelineId: orders.id, breakdown: { by: 'data.currency', measure: 'data.currency' } })).toMatchObject({ ok: false, error: 'invalid_request' });
      expect(await socket.emitWithAck('subscribe', { pipelineId: orders.id, breakdown: { by: 'data.currency', range: '1y' } as never })).toMatchObject({ ok: false, error: 'invalid_request' });
      const hidden = await api.createPipeline({ name: 'Hidden' });
      expect(await socket.emitWithAck('subscribe', { pipelineId: hidden.id, breakdown: { by: 'type' } })).toEqual({ ok: false, error: 'forbidden' });

      const admin = await connectViewer(web.url, ADMIN_TOKEN);
      sockets.push(admin);
      const ranges = ['1h', '24h', '7d', '30d'] as const;
      const eight = ranges.flatMap((range) => ['type', 'data.currency'].map((by) => ({ by, range })));
      for (const breakdown of eight) expect(await admin.emitWithAck('subscribe', { pipelineId: orders.id, breakdown })).toMatchObject({ ok: true });
      expect(await admin.emitWithAck('subscribe', { pipelineId: orders.id, breakdown: { by: 'data.region' } })).toMatchObject({ ok: false, error: 'invalid_request', message: expect.stringContaining('at most 8') });
      // The same one again is no new subscription.
      expect(await admin.emitWithAck('subscribe', { pipelineId: orders.id, breakdown: eight[0] })).toMatchObject({ ok: true });
    });
  });
});
