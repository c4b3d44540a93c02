import { Inject, Injectable } from '@nestjs/common';
import type { PipelineStats } from '@dash/domain';
import type { Pool } from 'pg';
import { PG_POOL } from '../database.tokens';
import { emptyStats, STATS_COLUMNS, STATS_FROM, toPipelineStats, type StatsRow } from '../stats';

/** What the pipeline list shows of each pipeline's stats. */
export interface StatsSummary {
  count: number;
  lastEventAt: string | null;
}

export interface SeriesRange {
  /** Bucket size as a PostgreSQL interval, e.g. `5 minutes`. */
  interval: string;
  /** The same size in milliseconds: picks the rollup to read. */
  bucketMs: number;
  from: Date;
  to: Date;
  type?: string;
}

const HOUR_MS = 3_600_000;

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

/** `pipeline_stats` (count, version and last event per pipeline) and the per-minute and per-hour rollups. */
@Injectable()
export class StatsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** A pipeline's stats; zero for one without a row. */
  async stats(pipelineId: string): Promise<PipelineStats> {
    const { rows } = await this.pool.query<StatsRow>(`SELECT ${STATS_COLUMNS} FROM ${STATS_FROM} WHERE pipeline_id = $1`, [pipelineId]);
    return rows[0] ? toPipelineStats(rows[0]) : emptyStats(pipelineId);
  }

  /** Count and last event time of each of these pipelines that has stats. */
  async summaries(pipelineIds: readonly string[]): Promise<Map<string, StatsSummary>> {
    const { rows } = await this.pool.query<{ pipeline_id: string; count: string; last_event_at: Date | null }>(
      'SELECT pipeline_id, count, last_event_at FROM pipeline_stats WHERE pipeline_id = ANY($1::uuid[])',
      [pipelineIds],
    );
    return new Map(rows.map((row) => [row.pipeline_id, { count: Number(row.count), lastEventAt: row.last_event_at?.toISOString() ?? null }]));
  }

  /**
   * Event counts per bucket start (epoch ms) in [from, to), buckets without events absent.
   * Buckets of whole hours read the hourly rollup, smaller ones the per-minute rollup.
   */
  async series(pipelineId: string, range: SeriesRange): Promise<Map<number, number>> {
    const source = range.bucketMs % HOUR_MS === 0 ? 'event_counts_1h' : 'event_counts_1m';
    const params: unknown[] = [pipelineId, range.interval, range.from, range.to];
    if (range.type !== undefined) params.push(range.type);
    const { rows } = await this.pool.query<{ t: Date; count: string }>(seriesSql(source, range.type !== undefined), params);
    return new Map(rows.map((row) => [row.t.getTime(), Number(row.count)]));
  }
}
