import { Injectable } from '@nestjs/common';
import type { Series, SeriesPoint } from '@dash/domain';
import { StatsRepository } from '@dash/infra';
import { BUCKETS, type SeriesQuery } from './series.params';

/** Event counts per time bucket, read from the per-minute and per-hour rollups. */
@Injectable()
export class SeriesService {
  constructor(private readonly stats: StatsRepository) {}

  /** Every bucket of the range, zero-filled, so a chart's gaps are real silence. */
  async series(pipelineId: string, query: SeriesQuery): Promise<Series> {
    const spec = BUCKETS[query.bucket];
    const counts = await this.stats.series(pipelineId, { interval: spec.interval, bucketMs: spec.ms, from: query.from, to: query.to, type: query.type });
    const points: SeriesPoint[] = [];
    for (let t = query.from.getTime(); t < query.to.getTime(); t += spec.ms) {
      points.push({ t: new Date(t).toISOString(), count: counts.get(t) ?? 0 });
    }
    return { bucket: query.bucket, from: query.from.toISOString(), to: query.to.toISOString(), points };
  }
}
