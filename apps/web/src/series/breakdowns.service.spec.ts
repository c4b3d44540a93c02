import { FILTERED_READ_MAX_EVENTS_DEFAULT, type BreakdownRow, type BreakdownsRepository, type GroupedRow, type PipelineEntity, type RollupRange } from '@dash/infra';
import { BreakdownsService, FILTERED_READS_AT_ONCE, FILTERED_READS_PER_ADDRESS, FILTERED_READS_WAITING } from './breakdowns.service';

/** A hand-written BreakdownsRepository: fixed answers, a set start for filtered reads, and what it was asked. */
class FakeRollups implements Pick<BreakdownsRepository, 'breakdown' | 'grouped' | 'filteredStart'> {
  readonly asked: RollupRange[] = [];
  readonly limits: Array<{ limit: number; alignMs?: number }> = [];
  constructor(
    private readonly rows: BreakdownRow[],
    private readonly start: Date | null = null,
    private readonly groupedRows: GroupedRow[] = [],
  ) {}

  async breakdown(_pipelineId: string, range: RollupRange): Promise<BreakdownRow[]> {
    this.asked.push(range);
    return this.rows;
  }

  async grouped(_pipelineId: string, range: RollupRange): Promise<GroupedRow[]> {
    this.asked.push(range);
    return this.groupedRows;
  }

  /** While set, filtered reads wait for it. */
  hold: Promise<void> | null = null;

  async filteredStart(_pipelineId: string, _range: unknown, limit: number, alignMs?: number): Promise<Date | null> {
    this.limits.push({ limit, alignMs });
    await this.hold;
    return this.start;
  }
}

const pipeline = { id: 'p1', dimensions: ['data.currency'], measures: ['data.total'] } as PipelineEntity;
const range = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-01-02T00:00:00Z'), limit: 10 };
const serviceWith = (rollups: FakeRollups, filteredReadMaxEvents?: number) =>
  new BreakdownsService(rollups as unknown as BreakdownsRepository, filteredReadMaxEvents === undefined ? undefined : { filteredReadMaxEvents });

describe(BreakdownsService.name, () => {
  it('adds each value’s share of the total', async () => {
    const result = await serviceWith(new FakeRollups([{ value: 'EUR', count: 3 }, { value: '(other)', count: 1 }])).breakdown(pipeline, { ...range, by: 'data.currency' });
    expect(result).toEqual({ by: 'data.currency', from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z', total: 4, items: [{ value: 'EUR', count: 3, share: 0.75 }, { value: '(other)', count: 1, share: 0.25 }], partial: false });
  });

  it('takes type and declared paths only, for by, measure and where, before reading anything', async () => {
    const rollups = new FakeRollups([]);
    for (const query of [{ by: 'data.other' }, { by: 'type', measure: 'data.other' }, { by: 'type', where: [{ path: 'data.other', value: 'x' }] }]) {
      await expect(serviceWith(rollups).breakdown(pipeline, { ...range, ...query })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
    }
    expect(rollups.asked).toEqual([]);
  });

  it(`reads a filtered range whole within FILTERED_READ_MAX_EVENTS (${FILTERED_READ_MAX_EVENTS_DEFAULT} by default), and past them only its newest part, partial`, async () => {
    const where = [{ path: 'type', value: 'order.paid' }];
    const whole = new FakeRollups([{ value: 'EUR', count: 2 }]);
    expect(await serviceWith(whole).breakdown(pipeline, { ...range, by: 'data.currency', where })).toMatchObject({ total: 2, partial: false });
    expect(whole.asked).toEqual([expect.objectContaining({ from: range.from, where })]);
    expect(whole.limits).toEqual([{ limit: FILTERED_READ_MAX_EVENTS_DEFAULT, alignMs: undefined }]);

    const start = new Date('2026-01-01T18:07:00Z');
    const newest = new FakeRollups([{ value: 'EUR', count: 2 }], start);
    const answer = await serviceWith(newest, 500).breakdown(pipeline, { ...range, by: 'data.currency', where });
    expect(answer).toMatchObject({ from: range.from.toISOString(), to: range.to.toISOString(), total: 2, partial: true, coveredFrom: start.toISOString() });
    expect(newest.asked).toEqual([expect.objectContaining({ from: start, to: range.to, where })]);
    expect(newest.limits).toEqual([{ limit: 500, alignMs: undefined }]);

    // Without where: no bound is looked up.
    const plain = new FakeRollups([], start);
    expect(await serviceWith(plain).breakdown(pipeline, { ...range, by: 'data.currency', where: [] })).toMatchObject({ partial: false });
    expect(plain.limits).toEqual([]);
  });

  it('starts a partial grouped series at its first whole bucket covered', async () => {
    const start = new Date('2026-01-01T20:00:00Z');
    const rollups = new FakeRollups([], start, [{ value: 'EUR', t: start.getTime(), count: 3 }]);
    const series = await serviceWith(rollups).grouped(pipeline, { ...range, bucket: '1h', groupBy: 'data.currency', where: [{ path: 'type', value: 'order.paid' }] });
    expect(rollups.limits).toEqual([{ limit: FILTERED_READ_MAX_EVENTS_DEFAULT, alignMs: 3_600_000 }]);
    expect(rollups.asked).toEqual([expect.objectContaining({ from: start })]);
    expect(series).toMatchObject({ from: range.from.toISOString(), partial: true, coveredFrom: start.toISOString() });
    expect(series.groups).toHaveLength(1);
    expect(series.groups[0].points.map((point) => [point.t, point.count])).toEqual([
      ['2026-01-01T20:00:00.000Z', 3],
      ['2026-01-01T21:00:00.000Z', 0],
      ['2026-01-01T22:00:00.000Z', 0],
      ['2026-01-01T23:00:00.000Z', 0],
    ]);
  });

  it(`runs ${FILTERED_READS_AT_ONCE} filtered reads at once, ${FILTERED_READS_WAITING} more in line, and answers 503 past them; unfiltered reads pass`, async () => {
    const rollups = new FakeRollups([{ value: 'EUR', count: 1 }]);
    let release!: () => void;
    rollups.hold = new Promise((resolve) => (release = resolve));
    const service = serviceWith(rollups);
    const where = [{ path: 'type', value: 'order.paid' }];
    const reads = Array.from({ length: FILTERED_READS_AT_ONCE + FILTERED_READS_WAITING }, () => service.breakdown(pipeline, { ...range, by: 'data.currency', where }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(rollups.limits).toHaveLength(FILTERED_READS_AT_ONCE);
    const refused = await service.breakdown(pipeline, { ...range, by: 'data.currency', where }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 503, code: 'unavailable', retryAfterSeconds: 1 });
    expect(await service.breakdown(pipeline, { ...range, by: 'data.currency' })).toMatchObject({ total: 1, partial: false });
    release();
    expect((await Promise.all(reads)).map((answer) => answer.total)).toEqual(reads.map(() => 1));
    expect(rollups.limits).toHaveLength(FILTERED_READS_AT_ONCE + FILTERED_READS_WAITING);
  });

  it(`lets one client address hold ${FILTERED_READS_PER_ADDRESS} filtered reads at once, then answers it 429; other addresses go on`, async () => {
    const rollups = new FakeRollups([{ value: 'EUR', count: 1 }]);
    let release!: () => void;
    rollups.hold = new Promise((resolve) => (release = resolve));
    const service = serviceWith(rollups);
    const query = { ...range, by: 'data.currency', where: [{ path: 'type', value: 'order.paid' }] };
    const mine = Array.from({ length: FILTERED_READS_PER_ADDRESS }, () => service.breakdown(pipeline, query, '203.0.113.7'));
    const refused = await service.breakdown(pipeline, query, '203.0.113.7').catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited', retryAfterSeconds: 1 });
    // Another client, and a live round (no address), are not held to it.
    const theirs = service.breakdown(pipeline, query, '198.51.100.2');
    const live = service.breakdown(pipeline, query);
    release();
    expect((await Promise.all([...mine, theirs, live])).map((answer) => answer.total)).toEqual([...mine, theirs, live].map(() => 1));
    // Its reads answered: the address has its places back.
    expect(await service.breakdown(pipeline, query, '203.0.113.7')).toMatchObject({ total: 1 });
  });
});
