import { Inject, Injectable } from '@nestjs/common';
import type { Series, SeriesPoint } from '@dash/domain';
import { PG_POOL } from '@dash/infra';
import type { Pool } from 'pg';
import { BUCKETS, type SeriesQuery } from './series.params';

// One statement for both storage modes: in native mode the rollups are tables the writer keeps
// current; in TimescaleDB mode they are continuous aggregates with real-time aggregation, so
// the newest, not yet materialized minutes come from the raw events. date_bin with the epoch as
// origin bins in UTC exactly as time_bucket does for these sizes.
const seriesSql = (source: string, typed: boolean) => `
  SELECT date_bin($2::interval, bucket, TIMESTAMPTZ 'epoch') AS t, sum(count)::bigint AS count
  FROM ${source}
  WHERE pipeline_id = $1 AND bucket >= $3 AND bucket < $4${typed ? ' AND type = $5' : ''}
  GROUP BY 1
  ORDER BY 1`;

/** Event counts per time bucket, read from the per-minute and per-hour rollups. */
@Injectable()
export class SeriesService {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Every bucket of the range, zero-filled, so a chart's gaps are real silence. */
  async series(pipelineId: string, query: SeriesQuery): Promise<Series> {
    const spec = BUCKETS[query.bucket];
    const params: unknown[] = [pipelineId, spec.interval, query.from, query.to];
    if (query.type !== undefined) params.push(query.type);
    const { rows } = await this.pool.query<{ t: Date; count: string }>(seriesSql(spec.source, query.type !== undefined), params);
    const counts = new Map(rows.map((row) => [row.t.getTime(), Number(row.count)]));
    const points: SeriesPoint[] = [];
    for (let t = query.from.getTime(); t < query.to.getTime(); t += spec.ms) {
      points.push({ t: new Date(t).toISOString(), count: counts.get(t) ?? 0 });
    }
    return { bucket: query.bucket, from: query.from.toISOString(), to: query.to.toISOString(), points };
  }
}
