import { STORAGE_SERVERS } from '@dash/infra/testing';
import type { BreakdownUpdated } from '@dash/domain';
import { Api, connectViewer, sendWebhook, startStack, startWeb, testEnv, waitFor, type Stack, type Viewer } from './support/harness';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Issue 24, items 2 to 5: dimensions and measures declared through the API, read back as breakdowns and grouped series. */
describe.each(STORAGE_SERVERS)('breakdowns by payload field on $server', ({ server }) => {
  const env = testEnv('breakdowns', {}, server);
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack(env);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('declares dimensions and measures with PATCH, at most 8 each, type implied', async () => {
    const pipeline = await stack.api.createPipeline();
    const patched = await stack.api.request('PATCH', `/api/pipelines/${pipeline.id}`, { dimensions: ['type', 'data.currency'], measures: ['data.total'] });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ dimensions: ['data.currency'], measures: ['data.total'] });
    expect((await stack.api.request('GET', `/api/pipelines/${pipeline.id}`)).body).toMatchObject({ dimensions: ['data.currency'], measures: ['data.total'] });
    const nine = Array.from({ length: 9 }, (_, i) => `data.k${i}`);
    for (const body of [{ dimensions: nine }, { measures: nine }, { dimensions: ['a..b'] }, { measures: ['x', 'x'] }]) {
      const refused = await stack.api.request('PATCH', `/api/pipelines/${pipeline.id}`, body);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'invalid_request' });
    }
    expect((await stack.api.request('GET', `/api/pipelines/${pipeline.id}`)).body).toMatchObject({ dimensions: ['data.currency'], measures: ['data.total'] });
  });

  it('answers breakdowns and grouped series equal to a GROUP BY over the events sent', async () => {
    const pipeline = await stack.api.createPipeline({ eventTimePath: 'at' });
    expect((await stack.api.request('PATCH', `/api/pipelines/${pipeline.id}`, { dimensions: ['data.currency'], measures: ['data.total'] })).status).toBe(200);
    // 60 events over two hours: currencies EUR ×30, USD ×20, GBP ×5, none ×5; totals numbers but every 7th a string.
    // Two days ago, 03:00–05:00 UTC: a whole day of the daily rollup holds them all.
    const base = Math.floor(Date.now() / DAY) * DAY - 2 * DAY + 3 * HOUR;
    const currencyOf = (i: number) => (i < 30 ? 'EUR' : i < 50 ? 'USD' : i < 55 ? 'GBP' : undefined);
    const events = Array.from({ length: 60 }, (_, i) => ({
      id: `o${i}`,
      type: i % 3 === 0 ? 'order.refunded' : 'order.paid',
      at: new Date(base + i * 2 * 60_000 + 5_000).toISOString(),
      data: { ...(currencyOf(i) ? { currency: currencyOf(i) } : {}), total: i % 7 === 0 ? 'n/a' : i },
    }));
    expect((await sendWebhook(stack.web.url, pipeline, events)).status).toBe(202);
    await waitFor(() => stack.api.stats(pipeline.id), (stats) => stats.count === 60, 15_000, 'the events stored');

    const from = new Date(base).toISOString();
    const to = new Date(base + 2 * HOUR).toISOString();
    const breakdown = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/breakdown?by=data.currency&measure=data.total&from=${from}&to=${to}&limit=2`);
    expect(breakdown.status).toBe(200);
    const expectedMeasure = (select: (i: number) => boolean) => {
      const numbers = events.map((_, i) => i).filter((i) => select(i) && i % 7 !== 0);
      const skipped = events.map((_, i) => i).filter((i) => select(i) && i % 7 === 0).length;
      return { count: numbers.length, sum: numbers.reduce((a, b) => a + b, 0), min: Math.min(...numbers), max: Math.max(...numbers), skipped };
    };
    expect(breakdown.body).toEqual({
      by: 'data.currency',
      from,
      to,
      total: 60,
      items: [
        { value: 'EUR', count: 30, share: 0.5, measure: expectedMeasure((i) => i < 30) },
        { value: 'USD', count: 20, share: 0.3333, measure: expectedMeasure((i) => i >= 30 && i < 50) },
        // The values past the limit (GBP, (none)) are (other).
        { value: '(other)', count: 10, share: 0.1667, measure: expectedMeasure((i) => i >= 50) },
      ],
      partial: false,
    });
    // Over whole days (the daily rollup, hours and minutes around it): the same answer.
    const days = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/breakdown?by=data.currency&measure=data.total&from=${new Date(base - 3 * HOUR - 90_000).toISOString()}&to=${new Date(base + DAY + 90_000).toISOString()}&limit=2`);
    expect(days.body.items).toEqual(breakdown.body.items);
    // Five-minute buckets read minutes: o0…o2 at 0, 2, 4 minutes, o3 and o4 at 6 and 8.
    const fine = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/series?bucket=5m&from=${from}&to=${new Date(base + HOUR).toISOString()}&groupBy=type`);
    expect(fine.status).toBe(200);
    const totals = fine.body.groups.reduce((sum: number[], group: { points: Array<{ count: number }> }) => group.points.map((point, k) => (sum[k] ?? 0) + point.count), [] as number[]);
    expect(totals).toHaveLength(12);
    expect(totals.slice(0, 3)).toEqual([3, 2, 3]);
    expect(totals.reduce((a: number, b: number) => a + b, 0)).toBe(30);
    // A range cut inside hours reads the minutes at its edges: the first 45 minutes hold o0…o22.
    const edge = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/breakdown?by=type&from=${from}&to=${new Date(base + 45 * 60_000).toISOString()}`);
    expect(edge.body.total).toBe(23);
    expect(edge.body.items).toEqual([
      { value: 'order.paid', count: 15, share: 0.6522 },
      { value: 'order.refunded', count: 8, share: 0.3478 },
    ]);

    // Filtered by another dimension (read from the events): refunds only (every third event), and those without a currency.
    const refunds = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/breakdown?by=data.currency&measure=data.total&from=${from}&to=${to}&where=type%3Dorder.refunded`);
    expect(refunds.status).toBe(200);
    const refunded = (i: number) => i % 3 === 0;
    expect(refunds.body).toMatchObject({ total: 20 });
    expect(refunds.body.items).toEqual([
      { value: 'EUR', count: 10, share: 0.5, measure: expectedMeasure((i) => refunded(i) && i < 30) },
      { value: 'USD', count: 7, share: 0.35, measure: expectedMeasure((i) => refunded(i) && i >= 30 && i < 50) },
      { value: 'GBP', count: 2, share: 0.1, measure: expectedMeasure((i) => refunded(i) && i >= 50 && i < 55) },
      { value: '(none)', count: 1, share: 0.05, measure: expectedMeasure((i) => refunded(i) && i >= 55) },
    ]);
    const none = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/breakdown?by=type&from=${from}&to=${to}&where=data.currency%3D(none)&where=type%3Dorder.paid`);
    expect(none.body.items).toEqual([{ value: 'order.paid', count: 4, share: 1 }]);
    const filteredSeries = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/series?bucket=1h&from=${from}&to=${to}&groupBy=type&where=data.currency%3DUSD`);
    expect(filteredSeries.body.groups.map((group: { value: string; points: Array<{ count: number }> }) => [group.value, group.points.map((point) => point.count)])).toEqual([
      ['order.paid', [0, 13]],
      ['order.refunded', [0, 7]],
    ]);
    expect([refunds.body.partial, filteredSeries.body.partial]).toEqual([false, false]);

    // A node that reads at most 20 stored events for a filtered read: the newest 20 (o40…o59, from
    // the minute after o39's), answered partial, exact over what it covers.
    const bounded = await startWeb(env.config('web', { FILTERED_READ_MAX_EVENTS: '20' }));
    try {
      const api = new Api(bounded.url, stack.api.token);
      const read = (path: string) => api.request('GET', path);
      const newest = await read(`/api/pipelines/${pipeline.id}/breakdown?by=data.currency&measure=data.total&from=${from}&to=${to}&where=type%3Dorder.refunded`);
      expect(newest.status).toBe(200);
      const covered = (i: number) => refunded(i) && i >= 40;
      expect(newest.body).toMatchObject({ from, to, total: 6, partial: true, coveredFrom: new Date(base + 79 * 60_000).toISOString() });
      expect(newest.body.items).toEqual([
        { value: 'USD', count: 3, share: 0.5, measure: expectedMeasure((i) => covered(i) && i < 50) },
        { value: 'GBP', count: 2, share: 0.3333, measure: expectedMeasure((i) => covered(i) && i >= 50 && i < 55) },
        { value: '(none)', count: 1, share: 0.1667, measure: expectedMeasure((i) => covered(i) && i >= 55) },
      ]);
      // A grouped series starts at its first whole bucket covered: 5-minute buckets from base + 80 min.
      const newestSeries = await read(`/api/pipelines/${pipeline.id}/series?bucket=5m&from=${from}&to=${to}&groupBy=type&where=data.currency%3DUSD`);
      expect(newestSeries.body).toMatchObject({ partial: true, coveredFrom: new Date(base + 80 * 60_000).toISOString() });
      expect(newestSeries.body.groups.map((group: { value: string; points: Array<{ t: string; count: number }> }) => [group.value, group.points[0].t, group.points.map((point) => point.count)])).toEqual([
        ['order.paid', new Date(base + 80 * 60_000).toISOString(), [2, 2, 2, 1, 0, 0, 0, 0]],
        ['order.refunded', new Date(base + 80 * 60_000).toISOString(), [1, 0, 1, 1, 0, 0, 0, 0]],
      ]);
      // Within the bound: whole.
      const small = await read(`/api/pipelines/${pipeline.id}/breakdown?by=type&from=${new Date(base + 90 * 60_000).toISOString()}&to=${to}&where=data.currency%3DGBP`);
      expect(small.body).toMatchObject({ total: 5, partial: false });
      expect(small.body.coveredFrom).toBeUndefined();
    } finally {
      await bounded.close();
    }

    const series = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/series?bucket=1h&from=${from}&to=${to}&groupBy=data.currency&measure=sum:data.total&limit=1`);
    expect(series.status).toBe(200);
    expect(series.body.groups.map((group: { value: string }) => group.value)).toEqual(['EUR', '(other)']);
    const [eur, other] = series.body.groups as Array<{ points: Array<{ t: string; count: number; sum: number | null }> }>;
    // EUR: o0…o29, all in the first hour (o0…o29 at 0–58 min).
    expect(eur.points).toEqual([
      { t: from, count: 30, sum: expectedMeasure((i) => i < 30).sum, min: 1, max: 29 },
      { t: new Date(base + HOUR).toISOString(), count: 0, sum: null, min: null, max: null },
    ]);
    expect(other.points.map((point) => point.count)).toEqual([0, 30]);
  });

  it('computes a dimension declared after events were stored, in the background, with its progress on the pipeline', async () => {
    const pipeline = await stack.api.createPipeline();
    const events = Array.from({ length: 40 }, (_, i) => ({ id: `p${i}`, type: 'payment', data: { provider: i % 4 === 0 ? 'adyen' : 'stripe', amount: i } }));
    expect((await sendWebhook(stack.web.url, pipeline, events)).status).toBe(202);
    await waitFor(() => stack.api.stats(pipeline.id), (stats) => stats.count === 40, 15_000, 'the events stored');
    expect((await stack.api.request('PATCH', `/api/pipelines/${pipeline.id}`, { dimensions: ['data.provider'], measures: ['data.amount'] })).status).toBe(200);
    const done = await waitFor(
      async () => (await stack.api.request('GET', `/api/pipelines/${pipeline.id}`)).body.backfill,
      (backfill) => backfill?.state === 'done',
      15_000,
      'the backfill finished',
    );
    expect(done).toMatchObject({ dimensions: ['type', 'data.provider'], measures: ['data.amount'], done: 40, total: 40 });
    const breakdown = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/breakdown?by=data.provider&measure=data.amount`);
    const sum = (select: (i: number) => boolean) => events.map((_, i) => i).filter(select).reduce((a, b) => a + b, 0);
    expect(breakdown.body.items).toEqual([
      { value: 'stripe', count: 30, share: 0.75, measure: { count: 30, sum: sum((i) => i % 4 !== 0), min: 1, max: 39, skipped: 0 } },
      { value: 'adyen', count: 10, share: 0.25, measure: { count: 10, sum: sum((i) => i % 4 === 0), min: 0, max: 36, skipped: 0 } },
    ]);
  });

  it('sends breakdown_updated to the sockets that follow that breakdown, on another web node too, and to no other', async () => {
    const pipeline = await stack.api.createPipeline();
    expect((await stack.api.request('PATCH', `/api/pipelines/${pipeline.id}`, { dimensions: ['data.plan'], measures: ['data.seats'] })).status).toBe(200);
    const sockets: Viewer[] = [];
    // A second web node: the follower is there, the webhook goes to the first.
    const other = await startWeb(env.config('web'));
    try {
      const follower = await connectViewer(other.url, stack.api.token);
      const plain = await connectViewer(stack.web.url, stack.api.token);
      sockets.push(follower, plain);
      // The node's pipeline cache learns the declaration through Redis: asked until it has.
      const ack = await waitFor(
        () => follower.timeout(5000).emitWithAck('subscribe', { pipelineId: pipeline.id, breakdown: { by: 'data.plan', measure: 'data.seats' } }),
        (answer) => answer.ok,
        10_000,
        'a breakdown subscription',
      );
      expect(ack).toMatchObject({ ok: true, breakdownKey: expect.any(String) });
      expect(await plain.timeout(5000).emitWithAck('subscribe', { pipelineId: pipeline.id })).toMatchObject({ ok: true });
      expect(await plain.timeout(5000).emitWithAck('subscribe', { pipelineId: pipeline.id, breakdown: { by: 'data.nope' } })).toMatchObject({ ok: false, error: 'invalid_request' });
      const followed: BreakdownUpdated[] = [];
      const unasked: BreakdownUpdated[] = [];
      follower.on('breakdown_updated', (update) => followed.push(update));
      plain.on('breakdown_updated', (update) => unasked.push(update));
      let dataUpdates = 0;
      plain.on('data_updated', () => (dataUpdates += 1));
      const events = Array.from({ length: 6 }, (_, i) => ({ id: `s${i}`, data: { plan: i < 4 ? 'team' : 'solo', seats: i + 1 } }));
      expect((await sendWebhook(stack.web.url, pipeline, events)).status).toBe(202);
      const last = await waitFor(() => followed.at(-1), (update) => update?.items.reduce((sum, item) => sum + item.count, 0) === 6, 10_000, 'breakdown_updated');
      expect(last).toMatchObject({
        pipelineId: pipeline.id,
        by: 'data.plan',
        items: [
          { value: 'team', count: 4, share: 0.6667, measure: { count: 4, sum: 10, min: 1, max: 4, skipped: 0 } },
          { value: 'solo', count: 2, share: 0.3333, measure: { count: 2, sum: 11, min: 5, max: 6, skipped: 0 } },
        ],
        emittedAt: expect.any(String),
      });
      await waitFor(() => dataUpdates, (n) => n > 0, 10_000, 'the plain socket’s data_updated');
      expect(unasked).toEqual([]);
    } finally {
      for (const socket of sockets) socket.disconnect();
      await other.close();
    }
  });

  it('refuses a breakdown by an undeclared path, a measure not declared, a where on one, an impossible date', async () => {
    const pipeline = await stack.api.createPipeline();
    await stack.api.request('PATCH', `/api/pipelines/${pipeline.id}`, { dimensions: ['data.currency'], measures: ['data.total'] });
    for (const query of ['by=data.other', 'by=data.currency&measure=data.other', 'by=data.currency&where=data.other%3Dx', 'by=a..b', 'by=type&from=2026-02-31T00:00:00Z', 'by=type&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z']) {
      const refused = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/breakdown?${query}`);
      expect({ query, status: refused.status, error: refused.body.error }).toEqual({ query, status: 400, error: 'invalid_request' });
    }
    const series = await stack.api.request('GET', `/api/pipelines/${pipeline.id}/series?groupBy=data.nope`);
    expect(series.status).toBe(400);
  });
});
