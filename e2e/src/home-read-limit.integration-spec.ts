import type { INestMicroservice } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { Api, sendWebhook, startIngestor, startWeb, testEnv, waitFor, type CreatedPipeline, type RunningWeb } from './support/harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PIPELINES = 12;

/**
 * The home page reads the list, then one series per card. With a read limit far below that burst
 * (5 a second, a burst of 5, against 2 + 12 reads), the page must still show every count and every
 * sparkline: the client spreads the series reads and waits out each 429's Retry-After.
 */
describe('home page under the per-token read limit', () => {
  const env = testEnv('homereadlimit', { API_READS_PER_SECOND: '5' });
  let ingestor: INestMicroservice;
  let web: RunningWeb;
  let browser: Browser;
  let viewerToken: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it)`);
    ingestor = await startIngestor(env.config('ingestor', { BUFFER_MAX_WAIT_MS: '50' }));
    web = await startWeb(env.config('web'));
    const api = new Api(web.url);
    const pipelines: CreatedPipeline[] = [];
    for (let i = 0; i < PIPELINES; i++) pipelines.push(await api.createPipeline({ name: `p${i}` }));
    for (const pipeline of pipelines) expect((await sendWebhook(web.url, pipeline, { n: 1 })).status).toBe(202);
    // Every event stored (429s from this polling of the admin's own reads are simply polled again).
    await waitFor(
      () => api.request('GET', '/api/pipelines'),
      (answer) => answer.status === 200 && answer.body.items.every((item: { count: number }) => item.count === 1),
      15_000,
      'every event stored',
    );
    // A viewer token: its reads are counted apart from the admin's above.
    viewerToken = (await api.request('POST', '/api/tokens', { pipelines: pipelines.map((p) => p.id) })).body.token;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await ingestor?.close();
    await env.cleanup();
  });

  it('shows every count and sparkline though the reads meet 429', async () => {
    const page = await browser.newPage();
    const limited: string[] = [];
    page.on('response', (response) => {
      if (response.status() === 429) limited.push(response.url());
    });
    await page.goto(`${web.url}/?token=${encodeURIComponent(viewerToken)}`);
    await page.waitForFunction(
      (n) => {
        const cards = [...document.querySelectorAll('[data-testid="pipeline-card"]')];
        return cards.length === n && cards.every((card) => card.querySelector('[data-testid="count"]')?.textContent === '1' && card.querySelector('svg.spark polyline'));
      },
      PIPELINES,
      { timeout: 30_000 },
    );
    // The limit was met (else this test proves nothing), and every series read got through in the end.
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((url) => new URL(url).pathname.startsWith('/api/'))).toBe(true);
    // A quick reload, with the token's reads spent: the page recovers all the same.
    limited.length = 0;
    await page.reload();
    await page.waitForFunction(
      (n) => {
        const cards = [...document.querySelectorAll('[data-testid="pipeline-card"]')];
        return cards.length === n && cards.every((card) => card.querySelector('svg.spark polyline'));
      },
      PIPELINES,
      { timeout: 30_000 },
    );
    expect(limited.length).toBeGreaterThan(0);
    await page.close();
  });
});
