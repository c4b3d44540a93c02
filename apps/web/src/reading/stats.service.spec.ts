import { DashError } from '@dash/domain';
import type { EventPageQuery, EventsRepository, StatsRepository, StoredEventPage, StoredEventRow } from '@dash/infra';
import { StatsService } from './stats.service';

/** A hand-written EventsRepository: answers pages from a fixed list and keeps what it was asked. */
class FakeEvents implements Pick<EventsRepository, 'page'> {
  readonly asked: EventPageQuery[] = [];
  constructor(private readonly answer: StoredEventPage) {}

  async page(_pipelineId: string, query: EventPageQuery): Promise<StoredEventPage> {
    this.asked.push(query);
    return this.answer;
  }
}

const row = (seq: string, minute: number): StoredEventRow => ({
  seq,
  event_id: `e${seq}`,
  type: 'tick',
  occurred_at: new Date(Date.UTC(2026, 0, 1, 10, minute)),
  received_at: new Date(Date.UTC(2026, 0, 1, 10, minute, 1)),
  payload: { n: Number(seq) },
});

const serviceWith = (events: FakeEvents) => new StatsService({} as StatsRepository, events as unknown as EventsRepository);

describe(StatsService.name, () => {
  it('turns the last event of a page into a cursor that the next request hands back as a position', async () => {
    const events = new FakeEvents({ rows: [row('9', 5), row('7', 3)], next: row('7', 3), partial: false });
    const service = serviceWith(events);
    const page = await service.events('p1', { limit: 2, type: 'tick' });
    expect(page.items.map((item) => item.id)).toEqual(['e9', 'e7']);
    expect(page.items[1]).toEqual({ id: 'e7', type: 'tick', occurredAt: '2026-01-01T10:03:00.000Z', receivedAt: '2026-01-01T10:03:01.000Z', payload: { n: 7 } });
    expect(page.next).toEqual(expect.any(String));

    await service.events('p1', { limit: 2, before: page.next ?? undefined });
    expect(events.asked).toEqual([
      { limit: 2, type: 'tick', eventId: undefined, where: undefined, before: undefined },
      { limit: 2, type: undefined, eventId: undefined, where: undefined, before: ['2026-01-01T10:03:00.000Z', '7'] },
    ]);
  });

  it('passes a partial search on with a cursor after the last row examined', async () => {
    const where = [{ path: 'data.customer', value: 'cus_1' }];
    const events = new FakeEvents({ rows: [], next: { occurred_at: new Date(Date.UTC(2026, 0, 1, 9)), seq: '40' }, partial: true });
    const page = await serviceWith(events).events('p1', { limit: 5, where });
    expect(page).toEqual({ items: [], next: expect.any(String), partial: true });
    await serviceWith(events).events('p1', { limit: 5, where, before: page.next ?? undefined });
    expect(events.asked[1]).toEqual({ limit: 5, type: undefined, eventId: undefined, where, before: ['2026-01-01T09:00:00.000Z', '40'] });
  });

  it('gives no cursor on the last page', async () => {
    expect((await serviceWith(new FakeEvents({ rows: [row('1', 1)], next: null, partial: false })).events('p1', { limit: 5 })).next).toBeNull();
  });

  it('refuses a cursor it did not write with a 400, before asking the database', async () => {
    const events = new FakeEvents({ rows: [], next: null, partial: false });
    const forged = [
      'not-base64-json',
      Buffer.from(JSON.stringify(['2026-01-01T10:03:00Z', '99999999999999999999'])).toString('base64url'), // past bigint
      Buffer.from(JSON.stringify(['yesterday', '7'])).toString('base64url'),
    ];
    for (const before of forged) {
      const refusal = await serviceWith(events).events('p1', { limit: 5, before }).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(DashError);
      expect(refusal).toMatchObject({ status: 400, code: 'invalid_request' });
    }
    expect(events.asked).toEqual([]);
  });
});
