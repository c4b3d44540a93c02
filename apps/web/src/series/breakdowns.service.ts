import { Inject, Injectable, Optional } from '@nestjs/common';
import { DashError, GateFull, WorkGate, type Breakdown, type GroupedSeries, type GroupPoint, type PathFilter } from '@dash/domain';
import { BreakdownsRepository, DASH_CONFIG, FILTERED_READ_MAX_EVENTS_DEFAULT, type DashConfig, type PipelineEntity } from '@dash/infra';
import type { BreakdownQuery } from './breakdown.params';
import { BUCKETS, type SeriesQuery } from './series.params';

const OTHER = '(other)';

/** `type` is always a dimension; the others are those the pipeline declares. */
function assertDimension(pipeline: PipelineEntity, path: string, what: string): void {
  if (path !== 'type' && !(pipeline.dimensions ?? []).includes(path)) {
    throw new DashError(400, 'invalid_request', `${what} ${JSON.stringify(path)} is not a dimension of this pipeline (type, or one declared with PATCH /api/pipelines/:id {dimensions})`);
  }
}

function assertMeasure(pipeline: PipelineEntity, path: string | undefined): void {
  if (path !== undefined && !(pipeline.measures ?? []).includes(path)) {
    throw new DashError(400, 'invalid_request', `measure ${JSON.stringify(path)} is not a measure of this pipeline (declare it with PATCH /api/pipelines/:id {measures})`);
  }
}

/**
 * Reads filtered by `where` (the stored events themselves, up to FILTERED_READ_MAX_EVENTS each)
 * running at once on a node, and waiting in line; past the line a read answers 503 with Retry-After.
 */
export const FILTERED_READS_AT_ONCE = 2;
export const FILTERED_READS_WAITING = 16;
/**
 * Filtered reads one client address may have running or waiting on a node; past them, 429 with
 * Retry-After: one client cannot fill the line. Per address, not per token: a viewer token is a
 * share link many browsers use at once, and a view makes two such reads (table and chart).
 */
export const FILTERED_READS_PER_ADDRESS = 4;

/** What a read covers: [from, to), or with `where` over too many events only the newest part (`partial`). */
interface Covered {
  from: Date;
  partial: boolean;
}

/** `partial` always; `coveredFrom` where the read starts later than asked. */
const partially = (covered: Covered) => (covered.partial ? { partial: true, coveredFrom: covered.from.toISOString() } : { partial: false });

/** Breakdowns and grouped series, from the rollups the writer keeps by dimension. */
@Injectable()
export class BreakdownsService {
  private readonly filteredMax: number;
  private readonly filteredReads = new WorkGate(FILTERED_READS_AT_ONCE, FILTERED_READS_WAITING);
  /** Filtered reads running or waiting, by client address (only addresses with some). */
  private readonly filteredByAddress = new Map<string, number>();

  constructor(
    private readonly rollups: BreakdownsRepository,
    @Optional() @Inject(DASH_CONFIG) config?: Pick<DashConfig, 'filteredReadMaxEvents'>,
  ) {
    this.filteredMax = config?.filteredReadMaxEvents ?? FILTERED_READ_MAX_EVENTS_DEFAULT;
  }

  /**
   * `where` works on declared dimensions. The rollups are kept per dimension, so a filtered read
   * is computed from the events themselves: at most FILTERED_READ_MAX_EVENTS of them, the newest.
   * A range holding more is read from a later start (a whole `alignMs`), answered `partial`.
   */
  private async cover(pipeline: PipelineEntity, query: { from: Date; to: Date; where?: PathFilter[] }, alignMs?: number): Promise<Covered> {
    if (!query.where?.length) return { from: query.from, partial: false };
    const start = await this.rollups.filteredStart(pipeline.id, query, this.filteredMax, alignMs);
    return start === null ? { from: query.from, partial: false } : { from: start, partial: true };
  }

  /**
   * A read, through the filtered reads' gate when it is filtered (see FILTERED_READS_AT_ONCE),
   * counted against the client's `address` (API reads; the live rounds have none).
   */
  private async gated<T>(where: PathFilter[] | undefined, address: string | undefined, read: () => Promise<T>): Promise<T> {
    if (!where?.length) return read();
    const held = address === undefined ? 0 : (this.filteredByAddress.get(address) ?? 0);
    if (held >= FILTERED_READS_PER_ADDRESS) {
      throw new DashError(429, 'rate_limited', `a client runs at most ${FILTERED_READS_PER_ADDRESS} reads filtered by where at once on a node; retry when one has answered`, 1);
    }
    if (address !== undefined) this.filteredByAddress.set(address, held + 1);
    try {
      return await this.filteredReads.run(read);
    } catch (error) {
      if (!(error instanceof GateFull)) throw error;
      throw new DashError(503, 'unavailable', 'too many reads filtered by where (they read the stored events) are running on this node; retry shortly', 1);
    } finally {
      if (address !== undefined) {
        const left = (this.filteredByAddress.get(address) ?? 1) - 1;
        if (left > 0) this.filteredByAddress.set(address, left);
        else this.filteredByAddress.delete(address);
      }
    }
  }

  /** The paths of a breakdown against the pipeline: by, measure and where on declared ones only (400 otherwise). Reads nothing. */
  check(pipeline: PipelineEntity, query: { by: string; measure?: string; where?: PathFilter[] }, byName = 'by'): void {
    assertDimension(pipeline, query.by, byName);
    assertMeasure(pipeline, query.measure);
    for (const filter of query.where ?? []) assertDimension(pipeline, filter.path, 'where');
  }

  /** `address`: the client's, for the per-client bound on filtered reads (API reads only). */
  async breakdown(pipeline: PipelineEntity, query: BreakdownQuery, address?: string): Promise<Breakdown> {
    this.check(pipeline, query);
    const { covered, rows } = await this.gated(query.where, address, async () => {
      const covered = await this.cover(pipeline, query);
      return { covered, rows: await this.rollups.breakdown(pipeline.id, { ...query, from: covered.from }) };
    });
    const total = rows.reduce((sum, row) => sum + row.count, 0);
    return {
      by: query.by,
      from: query.from.toISOString(),
      to: query.to.toISOString(),
      total,
      items: rows.map((row) => ({ ...row, share: total === 0 ? 0 : Math.round((row.count / total) * 10_000) / 10_000 })),
      ...partially(covered),
    };
  }

  /** One zero-filled series per top value (by events counted over the range), then `(other)`. */
  async grouped(pipeline: PipelineEntity, query: SeriesQuery & { groupBy: string }, address?: string): Promise<GroupedSeries> {
    this.check(pipeline, { by: query.groupBy, measure: query.measure?.path, where: query.where }, 'groupBy');
    const spec = BUCKETS[query.bucket];
    const { covered, rows } = await this.gated(query.where, address, async () => {
      const covered = await this.cover(pipeline, query, spec.ms);
      const range = { by: query.groupBy, from: covered.from, to: query.to, measure: query.measure?.path, limit: query.limit ?? 10, where: query.where, interval: spec.interval, bucketMs: spec.ms };
      return { covered, rows: await this.rollups.grouped(pipeline.id, range) };
    });
    const groups = new Map<string, { total: number; points: Map<number, GroupPoint> }>();
    for (const row of rows) {
      const group = groups.get(row.value) ?? { total: 0, points: new Map<number, GroupPoint>() };
      group.total += row.count;
      const point: GroupPoint = { t: new Date(row.t).toISOString(), count: row.count };
      if (row.measure) Object.assign(point, { sum: row.measure.sum, min: row.measure.min, max: row.measure.max });
      group.points.set(row.t, point);
      groups.set(row.value, group);
    }
    const ordered = [...groups].sort(([a, x], [b, y]) => Number(a === OTHER) - Number(b === OTHER) || y.total - x.total || (a < b ? -1 : 1));
    return {
      bucket: query.bucket,
      from: query.from.toISOString(),
      to: query.to.toISOString(),
      groupBy: query.groupBy,
      groups: ordered.map(([value, group]) => {
        const points: GroupPoint[] = [];
        for (let t = covered.from.getTime(); t < query.to.getTime(); t += spec.ms) {
          points.push(group.points.get(t) ?? { t: new Date(t).toISOString(), count: 0, ...(query.measure ? { sum: null, min: null, max: null } : {}) });
        }
        return { value, points };
      }),
      ...partially(covered),
    };
  }
}
