import { MAX_PAGE_BYTES, type IngestEvent } from '@dash/domain';
import type { Pool } from 'pg';
import { createPool } from '../database';
import { createTestDatabase, STORAGE_SERVERS, type TestDatabase } from '../../../testing/test-database';
import { EventsRepository, type EventPageQuery, type EventPosition, type StoredEventPage } from './events.repository';

const position = (next: EventPosition | null): [string, string] | undefined => (next === null ? undefined : [next.occurred_at.toISOString(), next.seq]);
import { FailuresRepository } from './failures.repository';

// The batch statement itself is covered through EventWriter's spec (apps/ingestor); these are the reads.
describe.each(STORAGE_SERVERS)(`${EventsRepository.name} and ${FailuresRepository.name}: pages on $server`, ({ server, storageMode }) => {
  let database: TestDatabase;
  let pool: Pool;
  let events: EventsRepository;
  let failures: FailuresRepository;

  beforeAll(async () => {
    database = await createTestDatabase('events_repo', storageMode, server);
    pool = createPool({ databaseUrl: database.url, role: 'web' });
    events = new EventsRepository(pool, storageMode);
    failures = new FailuresRepository(pool);
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  async function pipeline(): Promise<string> {
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('p', '{"type":"webhook"}', 'whsec_x') RETURNING id`);
    return rows[0].id;
  }

  const event = (pipelineId: string, id: string, minute: number, payloadJson = '{}', type = 'tick'): IngestEvent => ({
    pipelineId,
    id,
    type,
    occurredAt: Date.UTC(2026, 0, 1, 10, minute),
    receivedAt: Date.now(),
    payloadJson,
  });

  it('pages newest first, filters by type and id, and continues after a position', async () => {
    const id = await pipeline();
    await events.writeBatch([event(id, 'a', 1), event(id, 'b', 2, '{}', 'tock'), event(id, 'c', 3), event(id, 'd', 4)]);

    const first = await events.page(id, { limit: 2 });
    expect(first.rows.map((row) => row.event_id)).toEqual(['d', 'c']);
    expect(first.next).toEqual({ occurred_at: first.rows[1].occurred_at, seq: first.rows[1].seq });
    const rest = await events.page(id, { limit: 5, before: position(first.next) });
    expect(rest.rows.map((row) => row.event_id)).toEqual(['b', 'a']);
    expect(rest).toMatchObject({ next: null, partial: false });
    expect((await events.page(id, { limit: 5, type: 'tock' })).rows.map((row) => row.event_id)).toEqual(['b']);
    expect((await events.page(id, { limit: 5, eventId: 'c' })).rows).toEqual([expect.objectContaining({ event_id: 'c', type: 'tick', payload: {} })]);
  });

  it('stops a page before its payloads exceed MAX_PAGE_BYTES, always keeping the first', async () => {
    const id = await pipeline();
    const big = JSON.stringify({ text: 'x'.repeat(Math.ceil(MAX_PAGE_BYTES * 0.6)) });
    await events.writeBatch([event(id, 'old', 1, big), event(id, 'new', 2, big)]);
    const page = await events.page(id, { limit: 10 });
    expect(page.rows.map((row) => row.event_id)).toEqual(['new']);
    expect(page).toMatchObject({ next: { seq: page.rows[0].seq }, partial: false });
    expect((await events.page(id, { limit: 10, before: position(page.next) })).rows.map((row) => row.event_id)).toEqual(['old']);
  });

  /** Follows a search's cursors to the end: every page, and the ids found in order. */
  async function searchAll(id: string, query: Omit<EventPageQuery, 'before'>) {
    const pages: StoredEventPage[] = [];
    let before: EventPageQuery['before'];
    do {
      const page = await events.page(id, { ...query, before });
      pages.push(page);
      before = page.next ? position(page.next) : undefined;
    } while (before !== undefined && pages.length < 100);
    return { pages, ids: pages.flatMap((page) => page.rows.map((row) => row.event_id)) };
  }

  /** 1 000 events a second apart, newest n999; every 97th (n0, n97, …) is customer cus_1, with an amount equal to its index. */
  async function manyEvents(): Promise<{ id: string; matching: string[] }> {
    const id = await pipeline();
    await pool.query(
      `INSERT INTO events (pipeline_id, event_id, type, occurred_at, received_at, payload)
       SELECT $1, 'n' || i, CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END, timestamptz '2026-01-01' + i * interval '1 second', now(),
         jsonb_build_object('data', jsonb_build_object('customer', CASE WHEN i % 97 = 0 THEN 'cus_1' ELSE 'other_' || i END, 'amount', i, 'paid', i % 97 = 0), 'items', jsonb_build_array(jsonb_build_object('sku', 'sku_' || (i % 3))))
       FROM generate_series(0, 999) i`,
      [id],
    );
    const matching = Array.from({ length: 1000 }, (_, i) => i).filter((i) => i % 97 === 0).reverse().map((i) => `n${i}`);
    return { id, matching };
  }

  it('bounds a payload search: stops after the budget with partial and a cursor, and the cursors find every match', async () => {
    const { id, matching } = await manyEvents();
    const budget = { rows: 150, payloadBytes: 64 * 1024 * 1024 };
    const { pages, ids } = await searchAll(id, { limit: 50, where: [{ path: 'data.customer', value: 'cus_1' }], budget });
    expect(ids).toEqual(matching);
    // 1 000 rows at 150 a request: 7 requests, all but the last partial, none reading past its budget.
    expect(pages).toHaveLength(7);
    expect(pages.slice(0, -1).every((page) => page.partial && page.rows.length <= 2)).toBe(true);
    expect(pages.at(-1)).toMatchObject({ partial: false, next: null });
    // The first request examined n999…n850 and resumes right after n850.
    expect(pages[0].next).toEqual({ occurred_at: new Date(Date.UTC(2026, 0, 1, 0, 14, 10)), seq: expect.any(String) });
  });

  it('fills a page before the budget runs out and then pages on by the last match, not partial', async () => {
    const { id, matching } = await manyEvents();
    const first = await events.page(id, { limit: 3, where: [{ path: 'data.customer', value: 'cus_1' }] });
    expect(first.rows.map((row) => row.event_id)).toEqual(matching.slice(0, 3));
    expect(first.partial).toBe(false);
    const { ids } = await searchAll(id, { limit: 3, where: [{ path: 'data.customer', value: 'cus_1' }] });
    expect(ids).toEqual(matching);
  });

  it('bounds a search by stored payload bytes too', async () => {
    const { id } = await manyEvents();
    const page = await events.page(id, { limit: 50, where: [{ path: 'data.customer', value: 'cus_1' }], budget: { rows: 10_000, payloadBytes: 1 } });
    // Only the newest row fits in one byte (the first is always examined): n999 is not a match.
    expect(page).toMatchObject({ rows: [], partial: true, next: { occurred_at: new Date(Date.UTC(2026, 0, 1, 0, 16, 39)) } });
  });

  it('matches numbers, booleans, array items, and ANDs filters, type and id included', async () => {
    const { id } = await manyEvents();
    const found = async (query: Omit<EventPageQuery, 'before' | 'limit'>) => (await searchAll(id, { limit: 500, ...query })).ids;
    expect(await found({ where: [{ path: 'data.amount', value: '194' }] })).toEqual(['n194']);
    expect(await found({ where: [{ path: 'data.amount', value: '194.0' }] })).toEqual(['n194']);
    expect(await found({ where: [{ path: 'data.paid', value: 'true' }, { path: 'items.0.sku', value: 'sku_1' }] })).toEqual(['n970', 'n679', 'n388', 'n97']);
    expect(await found({ where: [{ path: 'data.paid', value: 'true' }], type: 'odd' })).toEqual(['n873', 'n679', 'n485', 'n291', 'n97']);
    expect(await found({ where: [{ path: 'data.customer', value: 'cus_1' }], eventId: 'n388' })).toEqual(['n388']);
    // A string that looks like JSON is matched as a string, never parsed into a structure.
    expect(await found({ where: [{ path: 'data', value: '{"customer":"cus_1"}' }] })).toEqual([]);
    expect(await found({ where: [{ path: 'data.missing', value: 'null' }] })).toEqual([]);
  });

  it('bounds a lookup by type or id the same way', async () => {
    const { id } = await manyEvents();
    const budget = { rows: 400, payloadBytes: 1 };
    const absent = await searchAll(id, { limit: 10, eventId: 'nope', budget });
    expect(absent.pages.map((page) => page.partial)).toEqual([true, true, false]);
    expect(absent.ids).toEqual([]);
    const old = await searchAll(id, { limit: 10, eventId: 'n3', budget });
    expect(old.ids).toEqual(['n3']);
    const odd = await searchAll(id, { limit: 500, type: 'odd', budget });
    expect(odd.ids).toHaveLength(500);
    expect(odd.pages.slice(0, -1).every((page) => page.partial)).toBe(true);
  });

  it('records a refused event, counts it, pages failures and answers their attempts', async () => {
    const id = await pipeline();
    const refused = event(id, 'bad\u0000id', 1);
    await failures.record(refused, '22P05: no');
    await failures.record(refused, '22P05: again');
    await failures.record(event(id, 'other', 2), '23514: check');
    expect(await failures.count(id)).toBe(2);
    const page = await failures.page(id, 1);
    expect(page.more).toBe(true);
    expect(page.rows).toHaveLength(1);
    const [newest] = page.rows;
    const older = await failures.page(id, 5, [newest.cursor_at, newest.id]);
    expect([...page.rows, ...older.rows].map((row) => row.event_id).sort()).toEqual(['bad\uFFFDid', 'other']);
    expect(older.more).toBe(false);
    expect((await failures.oldest(id, 1)).map((row) => [row.event_id, row.attempts])).toEqual([['bad\uFFFDid', 2]]);
    expect(await failures.attempts(id, ['bad\uFFFDid', 'unknown'])).toEqual([{ event_id: 'bad\uFFFDid', attempts: 2 }]);
  });
});
