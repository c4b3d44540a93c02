import type { IngestEvent } from '@dash/domain';
import { createPool, EventsRepository, FailuresRepository } from '@dash/infra';
import { createTestDatabase, STORAGE_SERVERS, type TestDatabase } from '@dash/infra/testing';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { EventWriter } from './event-writer';

// Every case on both servers: native partitions with the writer's own rollups, and a
// TimescaleDB hypertable with continuous aggregates.
describe.each(STORAGE_SERVERS)(`${EventWriter.name} on $server ($storageMode)`, ({ server, storageMode }) => {
  let database: TestDatabase;
  let pool: Pool;
  let writer: EventWriter;

  beforeAll(async () => {
    database = await createTestDatabase('writer', storageMode, server);
    pool = createPool({ databaseUrl: database.url, role: 'ingestor' });
    writer = new EventWriter(new EventsRepository(pool, storageMode), new FailuresRepository(pool));
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  async function pipeline(): Promise<string> {
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('p', '{"type":"webhook"}', 'whsec_x') RETURNING id`);
    await pool.query('INSERT INTO pipeline_stats (pipeline_id) VALUES ($1)', [rows[0].id]);
    return rows[0].id;
  }

  const event = (pipelineId: string, id: string, overrides: Partial<IngestEvent> = {}): IngestEvent => ({
    pipelineId,
    id,
    type: 'order.created',
    occurredAt: Date.UTC(2026, 0, 1, 10, 30, 15),
    receivedAt: Date.now(),
    payloadJson: JSON.stringify({ id, note: 'tab\there, newline\nthere, backslash \\ and "quotes"' }),
    ...overrides,
  });


  const storedIds = async (pipelineId: string) =>
    (await pool.query<{ event_id: string }>('SELECT event_id FROM events WHERE pipeline_id = $1 ORDER BY event_id', [pipelineId])).rows.map((r) => r.event_id);

  it('stores a batch once, with payloads intact, and returns the new stats', async () => {
    const id = await pipeline();
    const outcome = await writer.write([event(id, 'a'), event(id, 'b'), event(id, 'a')]);
    expect(outcome.failed).toBe(0);
    expect(outcome.stats).toEqual([expect.objectContaining({ pipelineId: id, count: 2, version: 1, lastEvent: expect.objectContaining({ id: 'b', occurredAt: '2026-01-01T10:30:15.000Z' }) })]);
    const { rows } = await pool.query<{ payload: unknown }>(`SELECT payload FROM events WHERE pipeline_id = $1 AND event_id = 'a'`, [id]);
    expect(rows[0].payload).toEqual(JSON.parse(event(id, 'a').payloadJson));
  });

  it('keeps a last payload over 16 KiB out of the stats (null, payloadTruncated, payloadBytes) and stores the event whole', async () => {
    const id = await pipeline();
    const big = JSON.stringify({ blob: 'x'.repeat(20_000) });
    const outcome = await writer.write([event(id, 'small'), event(id, 'big', { payloadJson: big })]);
    expect(outcome.stats[0].lastEvent).toMatchObject({ id: 'big', payload: null, payloadTruncated: true, payloadBytes: expect.any(Number) });
    expect(outcome.stats[0].lastEvent?.payloadBytes).toBeGreaterThan(20_000);
    const { rows } = await pool.query<{ last_event: { payload: unknown } }>('SELECT last_event FROM pipeline_stats WHERE pipeline_id = $1', [id]);
    expect(rows[0].last_event.payload).toBeNull();
    const stored = await pool.query<{ payload: unknown }>(`SELECT payload FROM events WHERE pipeline_id = $1 AND event_id = 'big'`, [id]);
    expect(stored.rows[0].payload).toEqual(JSON.parse(big));
    // A small last payload goes out whole, with no truncation mark.
    const next = await writer.write([event(id, 'after')]);
    expect(next.stats[0].lastEvent).toMatchObject({ id: 'after', payload: JSON.parse(event(id, 'after').payloadJson) });
    expect(next.stats[0].lastEvent).not.toHaveProperty('payloadTruncated');
  });

  it('deduplicates across batches on (pipeline, id) whatever the timestamps', async () => {
    const id = await pipeline();
    await writer.write([event(id, 'x', { occurredAt: Date.UTC(2026, 0, 1), receivedAt: Date.now() - 5000 })]);
    const again = await writer.write([event(id, 'x', { occurredAt: Date.UTC(2026, 5, 1), receivedAt: Date.now() }), event(id, 'y')]);
    expect(await storedIds(id)).toEqual(['x', 'y']);
    expect(again.stats[0]).toMatchObject({ count: 2, version: 2 });
  });

  it('keeps the same id apart in different pipelines', async () => {
    const [one, two] = [await pipeline(), await pipeline()];
    const outcome = await writer.write([event(one, 'same'), event(two, 'same')]);
    expect(outcome.stats.map((s) => s.count)).toEqual([1, 1]);
  });

  it('isolates an event the database rejects, records it, and stores the rest', async () => {
    const id = await pipeline();
    const events = Array.from({ length: 9 }, (_, i) => event(id, `e${i}`));
    events[5] = event(id, 'poison', { payloadJson: JSON.stringify({ bad: 'nul \u0000 inside' }) });
    const outcome = await writer.write(events);
    expect(outcome.failed).toBe(1);
    expect(await storedIds(id)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e6', 'e7', 'e8']);
    const { rows } = await pool.query<{ event_id: string; reason: string; event: string }>('SELECT event_id, reason, event FROM ingest_failures WHERE pipeline_id = $1', [id]);
    expect(rows).toEqual([{ event_id: 'poison', reason: expect.stringContaining('22P05'), event: expect.stringContaining('"poison"') }]);
    const stats = await pool.query<{ count: string }>('SELECT count FROM pipeline_stats WHERE pipeline_id = $1', [id]);
    expect(Number(stats.rows[0].count)).toBe(8);
  });

  it('keeps per-minute and per-hour rollups by type, counting late events in their own buckets', async () => {
    const id = await pipeline();
    const at = (iso: string) => Date.parse(iso);
    await writer.write([
      event(id, 'r1', { occurredAt: at('2026-03-01T10:00:05Z'), type: 'a' }),
      event(id, 'r2', { occurredAt: at('2026-03-01T10:00:55Z'), type: 'a' }),
      event(id, 'r3', { occurredAt: at('2026-03-01T10:01:00Z'), type: null }),
    ]);
    await writer.write([event(id, 'late', { occurredAt: at('2026-02-01T08:59:59Z'), type: 'a' }), event(id, 'r1', { occurredAt: at('2026-03-01T10:00:05Z'), type: 'a' })]);
    const minutes = await pool.query<{ bucket: Date; type: string | null; count: string }>('SELECT bucket, type, count FROM event_counts_1m WHERE pipeline_id = $1 ORDER BY bucket, type', [id]);
    expect(minutes.rows.map((r) => [r.bucket.toISOString(), r.type, Number(r.count)])).toEqual([
      ['2026-02-01T08:59:00.000Z', 'a', 1],
      ['2026-03-01T10:00:00.000Z', 'a', 2],
      ['2026-03-01T10:01:00.000Z', null, 1],
    ]);
    const hours = await pool.query<{ bucket: Date; count: string }>('SELECT bucket, sum(count) AS count FROM event_counts_1h WHERE pipeline_id = $1 GROUP BY bucket ORDER BY bucket', [id]);
    expect(hours.rows.map((r) => [r.bucket.toISOString(), Number(r.count)])).toEqual([
      ['2026-02-01T08:00:00.000Z', 1],
      ['2026-03-01T10:00:00.000Z', 3],
    ]);
  });

  it('records, counts and does not store events of a pipeline this database does not have, next to events of one it has', async () => {
    const [kept, ghost] = [await pipeline(), randomUUID()];
    const outcome = await writer.write([event(ghost, 'ghost-1'), event(kept, 'real'), event(ghost, 'ghost-2', { type: null })]);
    expect(outcome).toEqual({ stats: [expect.objectContaining({ pipelineId: kept, count: 1 })], failed: 0, failedPipelines: [], orphaned: 2 });
    const { rows } = await pool.query<{ event_id: string; reason: string; type: string | null; payload: unknown }>(
      'SELECT event_id, reason, type, payload FROM orphaned_events WHERE pipeline_id = $1 ORDER BY event_id',
      [ghost],
    );
    expect(rows).toEqual([
      { event_id: 'ghost-1', reason: 'pipeline_not_found', type: 'order.created', payload: JSON.parse(event(ghost, 'ghost-1').payloadJson) },
      { event_id: 'ghost-2', reason: 'pipeline_not_found', type: null, payload: JSON.parse(event(ghost, 'ghost-2').payloadJson) },
    ]);
    expect(await storedIds(ghost)).toEqual([]);
    expect((await pool.query('SELECT 1 FROM event_ids WHERE pipeline_id = $1', [ghost])).rowCount).toBe(0);

    // A redelivery (a retried job) is recorded once.
    const again = await writer.write([event(ghost, 'ghost-1')]);
    expect(again.orphaned).toBe(0);
    expect((await pool.query('SELECT 1 FROM orphaned_events WHERE pipeline_id = $1', [ghost])).rowCount).toBe(2);
  });

  it('records an event the database refuses whose pipeline is gone as well', async () => {
    const ghost = randomUUID();
    const outcome = await writer.write([event(ghost, 'poison-ghost', { payloadJson: JSON.stringify({ bad: 'nul \u0000 inside' }) })]);
    expect(outcome.failed).toBe(1);
    const { rows } = await pool.query<{ event_id: string; reason: string }>('SELECT event_id, reason FROM orphaned_events WHERE pipeline_id = $1', [ghost]);
    expect(rows).toEqual([{ event_id: 'poison-ghost', reason: expect.stringMatching(/^pipeline_not_found \(and refused: 22P05/) }]);
  });

  it('records the events in flight for a pipeline deleted meanwhile', async () => {
    const id = await pipeline();
    await writer.write([event(id, 'before')]);
    await pool.query('DELETE FROM pipelines WHERE id = $1', [id]);
    const outcome = await writer.write([event(id, 'after')]);
    expect(outcome.orphaned).toBe(1);
    expect((await pool.query<{ event_id: string }>('SELECT event_id FROM orphaned_events WHERE pipeline_id = $1', [id])).rows).toEqual([{ event_id: 'after' }]);
  });
});
