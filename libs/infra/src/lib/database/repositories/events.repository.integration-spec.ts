import { MAX_PAGE_BYTES, type IngestEvent } from '@dash/domain';
import type { Pool } from 'pg';
import { createPool } from '../database';
import { createTestDatabase, type TestDatabase } from '../../../testing/test-database';
import { EventsRepository } from './events.repository';
import { FailuresRepository } from './failures.repository';

// The batch statement itself is covered through EventWriter's spec (apps/ingestor); these are the reads.
describe(`${EventsRepository.name} and ${FailuresRepository.name}: pages`, () => {
  let database: TestDatabase;
  let pool: Pool;
  let events: EventsRepository;
  let failures: FailuresRepository;

  beforeAll(async () => {
    database = await createTestDatabase('events_repo');
    pool = createPool({ databaseUrl: database.url, role: 'web' });
    events = new EventsRepository(pool, 'native');
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
    expect(first.more).toBe(true);
    const last = first.rows[1];
    const rest = await events.page(id, { limit: 5, before: [last.occurred_at.toISOString(), last.seq] });
    expect(rest.rows.map((row) => row.event_id)).toEqual(['b', 'a']);
    expect(rest.more).toBe(false);
    expect((await events.page(id, { limit: 5, type: 'tock' })).rows.map((row) => row.event_id)).toEqual(['b']);
    expect((await events.page(id, { limit: 5, eventId: 'c' })).rows).toEqual([expect.objectContaining({ event_id: 'c', type: 'tick', payload: {} })]);
  });

  it('stops a page before its payloads exceed MAX_PAGE_BYTES, always keeping the first', async () => {
    const id = await pipeline();
    const big = JSON.stringify({ text: 'x'.repeat(Math.ceil(MAX_PAGE_BYTES * 0.6)) });
    await events.writeBatch([event(id, 'old', 1, big), event(id, 'new', 2, big)]);
    const page = await events.page(id, { limit: 10 });
    expect(page.rows.map((row) => row.event_id)).toEqual(['new']);
    expect(page.more).toBe(true);
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
