import { DashError } from '@dash/domain';
import { MAX_FILTERED_EVENTS, type BreakdownRow, type BreakdownsRepository, type PipelineEntity, type RollupRange } from '@dash/infra';
import { BreakdownsService } from './breakdowns.service';

/** A hand-written BreakdownsRepository: a fixed answer, a set number of events in any range, and what it was asked. */
class FakeRollups implements Pick<BreakdownsRepository, 'breakdown' | 'eventsInRange'> {
  readonly asked: RollupRange[] = [];
  constructor(
    private readonly rows: BreakdownRow[],
    private readonly events = 10,
  ) {}

  async breakdown(_pipelineId: string, range: RollupRange): Promise<BreakdownRow[]> {
    this.asked.push(range);
    return this.rows;
  }

  async eventsInRange(): Promise<number> {
    return this.events;
  }
}

const pipeline = { id: 'p1', dimensions: ['data.currency'], measures: ['data.total'] } as PipelineEntity;
const range = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-01-02T00:00:00Z'), limit: 10 };
const serviceWith = (rollups: FakeRollups) => new BreakdownsService(rollups as unknown as BreakdownsRepository);

describe(BreakdownsService.name, () => {
  it('adds each value’s share of the total', async () => {
    const result = await serviceWith(new FakeRollups([{ value: 'EUR', count: 3 }, { value: '(other)', count: 1 }])).breakdown(pipeline, { ...range, by: 'data.currency' });
    expect(result).toEqual({ by: 'data.currency', from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z', total: 4, items: [{ value: 'EUR', count: 3, share: 0.75 }, { value: '(other)', count: 1, share: 0.25 }] });
  });

  it('takes type and declared paths only, for by, measure and where, before reading anything', async () => {
    const rollups = new FakeRollups([]);
    for (const query of [{ by: 'data.other' }, { by: 'type', measure: 'data.other' }, { by: 'type', where: [{ path: 'data.other', value: 'x' }] }]) {
      await expect(serviceWith(rollups).breakdown(pipeline, { ...range, ...query })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
    }
    expect(rollups.asked).toEqual([]);
  });

  it(`refuses a filtered read over more than ${MAX_FILTERED_EVENTS} events, and passes a smaller one on`, async () => {
    const where = [{ path: 'type', value: 'order.paid' }];
    const big = new FakeRollups([], MAX_FILTERED_EVENTS + 1);
    const refusal = await serviceWith(big).breakdown(pipeline, { ...range, by: 'data.currency', where }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DashError);
    expect(refusal).toMatchObject({ status: 400, message: expect.stringContaining('narrow from and to') });
    expect(big.asked).toEqual([]);
    const small = new FakeRollups([], MAX_FILTERED_EVENTS);
    await serviceWith(small).breakdown(pipeline, { ...range, by: 'data.currency', where });
    expect(small.asked).toEqual([expect.objectContaining({ by: 'data.currency', where })]);
  });
});
