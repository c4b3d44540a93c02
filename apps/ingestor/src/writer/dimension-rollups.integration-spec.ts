import type { IngestEvent } from '@dash/domain';
import { BreakdownsRepository, createPool, DimensionsRepository, EventsRepository, FailuresRepository, preGroup } from '@dash/infra';
import { createTestDatabase, STORAGE_SERVERS, type TestDatabase } from '@dash/infra/testing';
import type { Pool } from 'pg';
import { EventWriter } from './event-writer';

/** The rollups as rows comparable with a GROUP BY over the events: a row's count (measure ''), then one per measure it holds. */
const ROLLUP_ROWS = (table: string) => `
  SELECT dimension, bucket, value, '' AS measure, count::text, NULL AS sum, NULL AS min, NULL AS max, '0' AS skipped FROM ${table} WHERE pipeline_id = $1
  UNION ALL
  SELECT r.dimension, r.bucket, r.value, m.measure, m.c::text, m.s::text, m.lo::text, m.hi::text, m.x::text
  FROM ${table} r CROSS JOIN LATERAL unnest(r.measures, r.measure_counts, r.sums, r.mins, r.maxes, r.skipped) AS m(measure, c, s, lo, hi, x)
  WHERE r.pipeline_id = $1 ORDER BY 1, 2, 3, 4`;

/** The epoch-aligned bins that are not calendar units. */
const BINS: Record<string, string | undefined> = { block: '6 hours', week: '7 days' };

/**
 * What the rollups must equal: a GROUP BY over the stored events (no dimension past its cap here),
 * for the dimensions `type`, `data.currency` and the measure `data.total`.
 */
const GROUP_BY = (unit: 'minute' | 'hour' | 'block' | 'day' | 'week') => `
  WITH valued AS (
    SELECT e.*, d.dimension, coalesce(left(CASE WHEN d.dimension = 'type' THEN e.type ELSE e.payload #>> string_to_array(d.dimension, '.') END, 200), '(none)') AS value
    FROM events e CROSS JOIN unnest(ARRAY['type', 'data.currency']) AS d(dimension) WHERE e.pipeline_id = $1
  ), measured AS (
    SELECT v.*, m.measure, CASE WHEN m.measure = '' THEN NULL ELSE v.payload #> string_to_array(m.measure, '.') END AS found
    FROM valued v CROSS JOIN unnest(ARRAY['', 'data.total']) AS m(measure)
  )
  SELECT dimension, ${BINS[unit] ? `date_bin('${BINS[unit]}', occurred_at, timestamptz 'epoch')` : `date_trunc('${unit}', occurred_at, 'UTC')`} AS bucket, value, measure,
    (CASE WHEN measure = '' THEN count(*) ELSE count(*) FILTER (WHERE jsonb_typeof(found) = 'number') END)::text AS count,
    sum(CASE WHEN jsonb_typeof(found) = 'number' THEN found::numeric END)::text AS sum,
    min(CASE WHEN jsonb_typeof(found) = 'number' THEN found::numeric END)::text AS min,
    max(CASE WHEN jsonb_typeof(found) = 'number' THEN found::numeric END)::text AS max,
    (count(*) FILTER (WHERE found IS NOT NULL AND jsonb_typeof(found) <> 'number'))::text AS skipped
  FROM measured GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`;

describe.each(STORAGE_SERVERS)('dimension rollups kept by the writer on $server ($storageMode)', ({ server, storageMode }) => {
  let database: TestDatabase;
  let pool: Pool;
  let writer: EventWriter;

  beforeAll(async () => {
    database = await createTestDatabase('dimensions', storageMode, server);
    pool = createPool({ databaseUrl: database.url, role: 'ingestor' });
    writer = new EventWriter(new EventsRepository(pool, storageMode), new FailuresRepository(pool));
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  async function pipeline(dimensions: string[], measures: string[]): Promise<string> {
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO pipelines (name, source, signing_secret, dimensions, measures) VALUES ('p', '{"type":"webhook"}', 'whsec_x', $1, $2) RETURNING id`,
      [dimensions, measures],
    );
    return rows[0].id;
  }

  const event = (pipelineId: string, id: string, minute: number, payload: unknown, type: string | null = 'order.paid'): IngestEvent => ({
    pipelineId,
    id,
    type,
    occurredAt: Date.UTC(2026, 0, 1, 10, minute, 7),
    receivedAt: Date.now(),
    payloadJson: JSON.stringify(payload),
  });

  const rows = async (sql: string, id: string) => (await pool.query(sql, [id])).rows;

  it('equals a GROUP BY over the stored events, through duplicates, replays, refused events and odd values', async () => {
    const id = await pipeline(['data.currency'], ['data.total']);
    const currencies = ['EUR', 'USD', 'GBP', null, undefined, 7, true, { nested: 1 }, 'x'.repeat(300)];
    const totals = [10, 2.5, -3, '12', null, undefined, 1e21, 0.1, [1]];
    const batch = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) => {
        const i = from + k;
        const data: Record<string, unknown> = {};
        if (currencies[i % currencies.length] !== undefined) data.currency = currencies[i % currencies.length];
        if (totals[i % totals.length] !== undefined) data.total = totals[i % totals.length];
        return event(id, `e${i}`, (i * 7) % 90, { data }, i % 4 === 0 ? 'order.refunded' : i % 5 === 0 ? null : 'order.paid');
      });
    await writer.write(batch(0, 120));
    // Overlapping redelivery (e100…e119 again), duplicates inside one batch, and an event PostgreSQL refuses.
    const second = await writer.write([...batch(100, 200), ...batch(150, 160), event(id, 'poison', 3, { data: { currency: 'bad\u0000' } })]);
    expect(second.failed).toBe(1);
    await writer.write(batch(0, 200)); // a replay of everything: nothing new
    expect(Number((await rows('SELECT count(*) AS n FROM events WHERE pipeline_id = $1', id))[0].n)).toBe(200);
    const minutes = await rows(ROLLUP_ROWS('dimension_rollup_1m'), id);
    expect(minutes.length).toBeGreaterThan(300);
    expect(minutes).toEqual(await rows(GROUP_BY('minute'), id));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1h'), id)).toEqual(await rows(GROUP_BY('hour'), id));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1d'), id)).toEqual(await rows(GROUP_BY('day'), id));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1w'), id)).toEqual(await rows(GROUP_BY('week'), id));
    // Spot checks of the mapping itself.
    const values = (await rows(`SELECT DISTINCT value FROM dimension_rollup_1h WHERE pipeline_id = $1 AND dimension = 'data.currency'`, id)).map((r) => r.value).sort();
    expect(values).toEqual(['(none)', '7', 'EUR', 'GBP', 'USD', 'true', 'x'.repeat(200), '{"nested": 1}'].sort());
    expect((await rows(`SELECT DISTINCT value FROM dimension_rollup_1h WHERE pipeline_id = $1 AND dimension = 'type'`, id)).map((r) => r.value).sort()).toEqual(['(none)', 'order.paid', 'order.refunded']);
  });

  it('equals the GROUP BY when the ingestor pre-aggregates: values read from the text as jsonb reads them', async () => {
    const id = await pipeline(['data.currency'], ['data.total']);
    // Payload texts as senders write them: scales and signs of numbers, escapes, repeated keys
    // (jsonb keeps the last), a 300-character value of emoji (cut at 200 characters), arrays.
    const currencies = ['"EUR"', '"USD"', '1.50', '-0.0', 'true', 'null', '"a\\"b\\n"', '"\\u00e9t\\u00e9"', `"${'😀'.repeat(300)}"`, '"GBP", "currency": "last"'];
    const totals = ['10', '2.50', '-3', '"12"', 'null', '0.1', '-0.00', '12345678901234567890.123456789', 'true', '[1]', '{"a": 1}'];
    const raw = (i: number): string => {
      const members = [`"currency": ${currencies[i % currencies.length]}`];
      if (i % 13 !== 0) members.push(`"total": ${totals[i % totals.length]}`);
      if (i % 17 === 0) members.reverse();
      return `{"id": ${i}, "d\\u0061ta": {"x": [1, {"y": "}"}]}, "data": { ${members.join(', ')} }}`;
    };
    const batch = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k): IngestEvent => ({ ...event(id, `f${from + k}`, (from + k) % 3, {}, (from + k) % 4 === 0 ? null : 'order.paid'), payloadJson: raw(from + k) }));
    const plan = { dimensions: ['data.currency'], measures: ['data.total'] };
    // Each batch after the first (the writer learns the plan from it) is grouped in Node.
    expect(preGroup(batch(0, 200), () => plan).plans).toEqual([{ p: id, ...plan, n: 200 }]);
    for (let from = 0; from < 200; from += 50) await writer.write(batch(from, from + 50));
    await writer.write([...batch(180, 220)]); // a replay in the batch: its payloads read in SQL
    await writer.write(batch(220, 260));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1m'), id)).toEqual(await rows(GROUP_BY('minute'), id));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1h'), id)).toEqual(await rows(GROUP_BY('hour'), id));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1d'), id)).toEqual(await rows(GROUP_BY('day'), id));
    const values = (await rows(`SELECT DISTINCT value FROM dimension_rollup_1h WHERE pipeline_id = $1 AND dimension = 'data.currency'`, id)).map((r) => r.value);
    expect(values).toEqual(expect.arrayContaining(['1.50', '0.0', 'a"b\n', 'été', '😀'.repeat(200), 'last', '(none)', 'true']));
  });

  it('keeps no rollups for a pipeline without dimensions or measures', async () => {
    const id = await pipeline([], []);
    await writer.write([event(id, 'a', 1, { data: { currency: 'EUR' } })]);
    expect(await rows('SELECT 1 FROM dimension_rollup_1m WHERE pipeline_id = $1 UNION ALL SELECT 1 FROM dimension_values WHERE pipeline_id = $1', id)).toEqual([]);
  });

  it('admits exactly 1,000 distinct values of a dimension in an hour across concurrent writers, the rest as (other), totals exact', async () => {
    const id = await pipeline(['data.customer'], []);
    // 1,300 distinct customers in one hour, twice each, written by 4 writers at once in batches of 100.
    const events = Array.from({ length: 2600 }, (_, i) => event(id, `c${i}`, 5 + (i % 50), { data: { customer: `cus_${i % 1300}` } }));
    const writers = Array.from({ length: 4 }, () => new EventWriter(new EventsRepository(pool, storageMode), new FailuresRepository(pool)));
    const batches = Array.from({ length: 26 }, (_, b) => events.slice(b * 100, b * 100 + 100));
    await Promise.all(writers.map(async (w, n) => {
      for (let b = n; b < batches.length; b += writers.length) await w.write(batches[b]);
    }));
    const admitted = await rows(`SELECT count(*)::int AS n FROM dimension_values WHERE pipeline_id = $1 AND dimension = 'data.customer'`, id);
    expect(admitted[0].n).toBe(1000);
    const byValue = await rows(
      `SELECT value, sum(count)::int AS n FROM dimension_rollup_1h WHERE pipeline_id = $1 AND dimension = 'data.customer' GROUP BY value`,
      id,
    );
    const total = byValue.reduce((sum, row) => sum + row.n, 0);
    expect(total).toBe(2600);
    const named = byValue.filter((row) => row.value !== '(other)');
    expect(named).toHaveLength(1000);
    // Each admitted value counts its events exactly; those it admitted late, after some of its events went to (other), fewer.
    const perValue = await rows(
      `SELECT e.payload #>> '{data,customer}' AS value, count(*)::int AS n FROM events e WHERE e.pipeline_id = $1 GROUP BY 1`,
      id,
    );
    const stored = new Map(perValue.map((row) => [row.value, row.n]));
    for (const row of named) expect(row.n).toBeLessThanOrEqual(stored.get(row.value) ?? 0);
    expect(byValue.find((row) => row.value === '(other)')?.n).toBe(2600 - named.reduce((sum, row) => sum + row.n, 0));
    // The same values in the minute rollup, hour by hour.
    const minuteTotal = await rows(`SELECT sum(count)::int AS n FROM dimension_rollup_1m WHERE pipeline_id = $1 AND dimension = 'data.customer'`, id);
    expect(minuteTotal[0].n).toBe(2600);
  });

  it('backfills a dimension and a measure declared later, in bounded steps while events keep coming, to the same GROUP BY', async () => {
    const id = await pipeline([], []);
    const dimensions = new DimensionsRepository(pool);
    // An object as a value now and then: the steps that meet one read their payloads in SQL, the others group them in Node.
    const currency = (i: number) => (i % 400 === 0 ? { code: 'EUR' } : ['EUR', 'USD', 'GBP'][i % 3]);
    const payload = (i: number) => ({ data: { ...(i % 5 === 0 && i % 400 !== 0 ? {} : { currency: currency(i) }), total: i % 6 === 0 ? 'n/a' : i } });
    const make = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => event(id, `b${from + k}`, (from + k) % 80, payload(from + k), (from + k) % 2 ? 'order.paid' : 'order.refunded'));
    await writer.write(make(0, 300));
    await writer.write(make(300, 500));
    // Declared in two steps: the dimension first, the measure a little later.
    expect(await dimensions.declare(id, ['data.currency'], [])).toBe(true);
    await writer.write(make(500, 600));
    expect(await dimensions.declare(id, ['data.currency'], ['data.total'])).toBe(true);
    let steps = 0;
    for (let job = await dimensions.nextBackfill(); job !== null; job = await dimensions.nextBackfill()) {
      // Events keep arriving between steps, some redelivered.
      if (steps < 6) await writer.write(make(600 + steps * 50, 650 + steps * 50).concat(make(0, 10)));
      await dimensions.backfillStep(job, 120);
      steps += 1;
      expect(steps).toBeLessThan(50);
    }
    expect(steps).toBeGreaterThan(6);
    expect(Number((await rows('SELECT count(*) AS n FROM events WHERE pipeline_id = $1', id))[0].n)).toBe(900);
    const minutes = await rows(ROLLUP_ROWS('dimension_rollup_1m'), id);
    expect(minutes.length).toBeGreaterThan(200);
    expect(minutes).toEqual(await rows(GROUP_BY('minute'), id));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1h'), id)).toEqual(await rows(GROUP_BY('hour'), id));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1d'), id)).toEqual(await rows(GROUP_BY('day'), id));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1w'), id)).toEqual(await rows(GROUP_BY('week'), id));
    expect(await dimensions.progress(id)).toMatchObject({ state: 'done', dimensions: [], measures: ['data.total'], finishedAt: expect.any(String) });

    // Removing the measure drops its rows; declaring it again backfills it afresh, not twice.
    await dimensions.declare(id, ['data.currency'], []);
    expect(await rows(`SELECT 1 FROM dimension_rollup_1h WHERE pipeline_id = $1 AND 'data.total' = ANY (measures)`, id)).toEqual([]);
    await dimensions.declare(id, ['data.currency'], ['data.total']);
    expect(await dimensions.progress(id)).toMatchObject({ state: 'running', measures: ['data.total'], done: 0 });
    for (let job = await dimensions.nextBackfill(); job !== null; job = await dimensions.nextBackfill()) await dimensions.backfillStep(job, 500);
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1h'), id)).toEqual(await rows(GROUP_BY('hour'), id));
    // The cap's bookkeeping of these hours (2026) is trimmed past its days; the rollups stay.
    const before = await rows(ROLLUP_ROWS('dimension_rollup_1h'), id);
    await dimensions.trimAdmittedValues(8);
    expect(await rows('SELECT 1 FROM dimension_values WHERE pipeline_id = $1', id)).toEqual([]);
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1h'), id)).toEqual(before);
  });

  it('takes declarations that add and remove paths while backfill steps run, without a deadlock, and ends on the GROUP BY', async () => {
    const id = await pipeline([], []);
    const dimensions = new DimensionsRepository(pool);
    const payload = (i: number) => ({ data: { currency: ['EUR', 'USD', 'GBP'][i % 3], customer: `cus_${i % 40}`, total: i } });
    for (let from = 0; from < 3000; from += 500) await writer.write(Array.from({ length: 500 }, (_, k) => event(id, `d${from + k}`, (from + k) % 60, payload(from + k))));
    // One step after another, as an ingestor runs them, while the paths are declared and taken back 12 times.
    let declaring = true;
    let steps = 0;
    const stepping = (async () => {
      while (declaring) {
        const job = await dimensions.nextBackfill();
        if (job !== null && (await dimensions.backfillStep(job, 150)) !== null) steps += 1;
      }
    })();
    for (let round = 0; round < 12; round++) {
      expect(await dimensions.declare(id, ['data.currency', 'data.customer'], ['data.total'])).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 15));
      expect(await dimensions.declare(id, round % 2 === 0 ? [] : ['data.currency'], [])).toBe(true);
    }
    declaring = false;
    await stepping;
    expect(steps).toBeGreaterThan(0);
    await dimensions.declare(id, ['data.currency'], ['data.total']);
    for (let job = await dimensions.nextBackfill(); job !== null; job = await dimensions.nextBackfill()) await dimensions.backfillStep(job, 1000);
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1m'), id)).toEqual(await rows(GROUP_BY('minute'), id));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1d'), id)).toEqual(await rows(GROUP_BY('day'), id));
  });

  it('keeps block and day rows only for those before the pipeline\'s mark; closing makes them from the hours, exactly, beside writers and a backfill', async () => {
    const id = await pipeline(['data.currency'], []);
    const dimensions = new DimensionsRepository(pool);
    const breakdowns = new BreakdownsRepository(pool);
    const day = (n: number) => new Date(Date.UTC(2026, 0, n));
    // The mark before the days written here: they are open, as today is for a new pipeline.
    await pool.query('UPDATE pipelines SET rollups_closed_before = $2 WHERE id = $1', [id, day(1)]);
    const make = (tag: string, from: number, to: number, dayOfMonth: number) =>
      Array.from({ length: to - from }, (_, k): IngestEvent => {
        const i = from + k;
        return { ...event(id, `${tag}${i}`, 0, { data: { currency: ['EUR', 'USD', 'GBP'][i % 3], total: i % 9 === 0 ? 'n/a' : i / 4 } }), occurredAt: Date.UTC(2026, 0, dayOfMonth, i % 24, i % 60, 7) };
      });
    const dayRows = async (before: Date) => {
      const rollups = await rows(ROLLUP_ROWS('dimension_rollup_1d'), id);
      const expected = (await rows(GROUP_BY('day'), id)).filter((row) => row.bucket < before);
      return { rollups, expected };
    };
    // What a reader sees over the three days, by currency with the measure: the same before and after any compaction.
    const read = () => breakdowns.breakdown(id, { by: 'data.currency', from: day(1), to: day(4), measure: 'data.total', limit: 10 });
    const expectedRead = async () =>
      (await rows(
        `SELECT payload #>> '{data,currency}' AS value, count(*)::int AS count,
           count(*) FILTER (WHERE jsonb_typeof(payload #> '{data,total}') = 'number')::int AS c, sum((payload #>> '{data,total}')::numeric) FILTER (WHERE jsonb_typeof(payload #> '{data,total}') = 'number')::float8 AS s,
           count(*) FILTER (WHERE jsonb_typeof(payload #> '{data,total}') = 'string')::int AS x
         FROM events WHERE pipeline_id = $1 GROUP BY 1 ORDER BY 2 DESC, 1`,
        id,
      )).map((row) => ({ value: row.value, count: row.count, measure: expect.objectContaining({ count: row.c, sum: row.s, skipped: row.x }) }));

    await writer.write(make('a', 0, 300, 1));
    await writer.write(make('a', 300, 600, 2));
    expect(await rows('SELECT 1 FROM dimension_rollup_1d WHERE pipeline_id = $1 UNION ALL SELECT 1 FROM dimension_rollup_6h WHERE pipeline_id = $1', id)).toEqual([]);
    // The measure declared mid-way: later hours name it, earlier ones only once the backfill reaches them.
    await dimensions.declare(id, ['data.currency'], ['data.total']);
    await writer.write(make('b', 0, 200, 2));
    const counts = (items: Array<{ value: string; count: number }>) => items.map(({ value, count }) => ({ value, count }));
    expect(counts(await read())).toEqual(counts(await expectedRead()));

    // Days 1 and 2 closed while four writers add late events to them and new ones to day 3, and the measure's backfill runs.
    const writers = Array.from({ length: 4 }, () => new EventWriter(new EventsRepository(pool, storageMode), new FailuresRepository(pool)));
    const writing = writers.map(async (w, n) => {
      for (let b = 0; b < 6; b++) await w.write(make(`c${n}_${b}_`, 0, 30, 1 + ((n + b) % 3)));
    });
    const backfilling = (async () => {
      for (let job = await dimensions.nextBackfill(); job !== null; job = await dimensions.nextBackfill()) await dimensions.backfillStep(job, 150);
    })();
    // A declaration of the same paths beside them: it locks the pipeline's row FOR UPDATE.
    const declaring = dimensions.declare(id, ['data.currency'], ['data.total']);
    const [made] = await Promise.all([dimensions.compactRollups(day(3)), backfilling, declaring, ...writing]);
    expect(made).toBe(8);
    expect(await dimensions.compactRollups(day(3))).toBe(0);
    expect((await rows('SELECT rollups_closed_before FROM pipelines WHERE id = $1', id))[0].rollups_closed_before).toEqual(day(3));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1h'), id)).toEqual(await rows(GROUP_BY('hour'), id));
    const closed = await dayRows(day(3));
    expect(closed.rollups.length).toBeGreaterThan(10);
    expect(closed.rollups).toEqual(closed.expected);
    const blocks = await rows(ROLLUP_ROWS('dimension_rollup_6h'), id);
    expect(blocks.length).toBeGreaterThan(20);
    expect(blocks).toEqual(await rows(GROUP_BY('block'), id).then((expected) => expected.filter((row) => row.bucket < day(3))));
    expect(await read()).toEqual(await expectedRead());

    // Day 3 closed by halves: its first two blocks, then (after late events in a closed block and an
    // open one) the other two, which complete the day. The reader's answer is the GROUP BY's throughout.
    const open = await read();
    const noon = new Date(Date.UTC(2026, 0, 3, 12));
    expect(await dimensions.compactRollups(noon)).toBe(2);
    expect((await dayRows(day(4))).rollups).toEqual(closed.expected);
    expect(await rows(ROLLUP_ROWS('dimension_rollup_6h'), id)).toEqual((await rows(GROUP_BY('block'), id)).filter((row) => row.bucket < noon));
    expect(await read()).toEqual(open);
    const lateInDay3 = (tag: string, hour: number) =>
      Array.from({ length: 12 }, (_, i) => ({ ...event(id, `${tag}${i}`, 0, { data: { currency: ['EUR', 'CHF'][i % 2], total: i } }), occurredAt: Date.UTC(2026, 0, 3, hour, i) }));
    await writer.write([...lateInDay3('e', 2), ...lateInDay3('f', 14)]);
    expect(await rows(ROLLUP_ROWS('dimension_rollup_6h'), id)).toEqual((await rows(GROUP_BY('block'), id)).filter((row) => row.bucket < noon));
    expect(await read()).toEqual(await expectedRead());
    // A range whose edges are not whole days: minutes, hours and blocks around a whole day, the
    // closed blocks of day 3 among them and its open ones after (hours only: no block rows there
    // yet, the late events at 14:00 among them); its counts are those of the events in it.
    const [edgeFrom, edgeTo] = [new Date(Date.UTC(2026, 0, 1, 7, 30)), new Date(Date.UTC(2026, 0, 3, 20, 15))];
    const { rows: inEdges } = await pool.query(
      `SELECT payload #>> '{data,currency}' AS value, count(*)::int AS count FROM events
       WHERE pipeline_id = $1 AND occurred_at >= $2 AND occurred_at < $3 GROUP BY 1 ORDER BY 2 DESC, 1`,
      [id, edgeFrom, edgeTo],
    );
    expect(counts(await breakdowns.breakdown(id, { by: 'data.currency', from: edgeFrom, to: edgeTo, measure: 'data.total', limit: 10 }))).toEqual(inEdges);
    const beforeDay = await read();
    expect(await dimensions.compactRollups(day(4))).toBe(2);
    const all = await dayRows(day(4));
    expect(all.rollups).toEqual(all.expected);
    expect(await rows(ROLLUP_ROWS('dimension_rollup_6h'), id)).toEqual(await rows(GROUP_BY('block'), id));
    expect(await read()).toEqual(beforeDay);

    // Closing up to Jan 9 completes the week [Jan 1, Jan 8) (epoch-aligned 7-day bins start on
    // Thursdays, as Jan 1 2026 is): made from its days; a read over it takes the week, and late
    // events after it are added to its day and week rows by the writer.
    const overWeek = () => breakdowns.breakdown(id, { by: 'data.currency', from: day(1), to: day(9), measure: 'data.total', limit: 10 });
    const beforeWeek = await overWeek();
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1w'), id)).toEqual([]);
    expect(await dimensions.compactRollups(day(9))).toBe(20);
    const weeks = await rows(ROLLUP_ROWS('dimension_rollup_1w'), id);
    expect(weeks.length).toBeGreaterThan(5);
    expect(weeks).toEqual(await rows(GROUP_BY('week'), id));
    expect(await overWeek()).toEqual(beforeWeek);
    await writer.write(make('d', 0, 40, 2));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1w'), id)).toEqual(await rows(GROUP_BY('week'), id));
    expect(await overWeek()).toEqual(await expectedRead());
  });

  // Jan 1 2026 is a Thursday: the epoch-aligned week [Jan 1, Jan 8). The mark at Jan 5; closing until Jan 8 closes days 5–7 (12 blocks) and completes that week.
  it.each([
    ['hours of a day it closes', 6],
    ['day rows of a week it completes', 2],
  ])('closes again when the %s changed before the lock: a late batch committing meanwhile counts once', async (_what, dayOfMonth) => {
    const id = await pipeline(['data.currency'], ['data.total']);
    const dimensions = new DimensionsRepository(pool);
    await pool.query('UPDATE pipelines SET rollups_closed_before = $2 WHERE id = $1', [id, new Date(Date.UTC(2026, 0, 5))]);
    const late = (tag: string, count: number, day: number) =>
      Array.from({ length: count }, (_, i) => ({ ...event(id, `${tag}${i}`, 0, { data: { currency: ['EUR', 'USD'][i % 2], total: i } }), occurredAt: Date.UTC(2026, 0, day, i % 24, i % 60) }));
    await writer.write([...late('a', 100, 2), ...late('c', 100, 6)]);
    // A batch written in a transaction left open: it holds the pipeline's row FOR SHARE, its rows uncommitted.
    const held = await pool.connect();
    const release = held.release.bind(held);
    held.release = () => undefined;
    try {
      await held.query('BEGIN');
      await new EventsRepository({ connect: async () => held } as unknown as Pool, storageMode).writeBatch(late('b', 100, dayOfMonth));
      const closing = dimensions.compactRollups(new Date(Date.UTC(2026, 0, 8)));
      // Once the closing waits for the row lock, it has made its rows without that batch.
      const deadline = Date.now() + 30_000;
      const waiting = async () =>
        (await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FOR NO KEY UPDATE%'`)).rows.length > 0;
      while (!(await waiting())) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await held.query('COMMIT');
      expect(await closing).toBe(12);
    } finally {
      held.release = release;
      release();
    }
    expect(Number((await rows('SELECT count(*) AS n FROM events WHERE pipeline_id = $1', id))[0].n)).toBe(300);
    expect(await rows(ROLLUP_ROWS('dimension_rollup_6h'), id)).toEqual(await rows(GROUP_BY('block'), id));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1d'), id)).toEqual(await rows(GROUP_BY('day'), id));
    const weeks = await rows(ROLLUP_ROWS('dimension_rollup_1w'), id);
    expect(weeks.length).toBeGreaterThan(0);
    expect(weeks).toEqual(await rows(GROUP_BY('week'), id));
  });

  it('splits events exactly between the backfill and the writers when the declaration lands while batches are being written', async () => {
    const id = await pipeline([], []);
    const dimensions = new DimensionsRepository(pool);
    const writers = Array.from({ length: 4 }, () => new EventWriter(new EventsRepository(pool, storageMode), new FailuresRepository(pool)));
    // Four writers, 30 batches of 40 each. The declaration starts once each has written 10 and
    // lands while they go on; each writes its last batch after it: both sides of the split are
    // sure to be exercised, whatever the host's speed.
    const tenWritten: Array<() => void> = [];
    const gates = Array.from({ length: 4 }, () => new Promise<void>((resolve) => tenWritten.push(resolve)));
    const declaring = Promise.all(gates).then(() => dimensions.declare(id, ['data.currency'], ['data.total']));
    const writing = writers.map(async (w, n) => {
      for (let b = 0; b < 30; b++) {
        if (b === 10) tenWritten[n]();
        if (b === 29) await declaring;
        const from = (n * 30 + b) * 40;
        await w.write(Array.from({ length: 40 }, (_, k) => event(id, `w${from + k}`, (from + k) % 70, { data: { currency: ['EUR', 'USD'][(from + k) % 2], total: from + k } })));
      }
    });
    await Promise.all([...writing, declaring]);
    for (let job = await dimensions.nextBackfill(); job !== null; job = await dimensions.nextBackfill()) await dimensions.backfillStep(job, 700);
    expect(Number((await rows('SELECT count(*) AS n FROM events WHERE pipeline_id = $1', id))[0].n)).toBe(4800);
    const backfilled = await dimensions.progress(id);
    // Some events came before the declaration and some after: both paths were exercised.
    expect(backfilled?.done).toBeGreaterThanOrEqual(1500);
    expect(backfilled?.done).toBeLessThan(4800);
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1m'), id)).toEqual(await rows(GROUP_BY('minute'), id));
    expect(await rows(ROLLUP_ROWS('dimension_rollup_1d'), id)).toEqual(await rows(GROUP_BY('day'), id));
  });
});
