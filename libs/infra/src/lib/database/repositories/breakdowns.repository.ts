import { Inject, Injectable } from '@nestjs/common';
import type { MeasureSummary } from '@dash/domain';
import type { Pool } from 'pg';
import { PG_POOL } from '../database.tokens';

const HOUR_MS = 3_600_000;

/** Which rollup rows a read covers: a pipeline's dimension over [from, to), optionally one measure. */
export interface RollupRange {
  by: string;
  from: Date;
  to: Date;
  measure?: string;
  /** Top values kept; the rest are merged into `(other)`. */
  limit: number;
}

export interface BreakdownRow {
  value: string;
  count: number;
  measure?: MeasureSummary;
}

export interface GroupedRow {
  value: string;
  t: number;
  count: number;
  measure?: MeasureSummary;
}

type SummaryColumns = { m_count: string | null; m_sum: string | null; m_min: string | null; m_max: string | null; m_skipped: string | null };

const numberOrNull = (value: string | null) => (value === null ? null : Number(value));
const summary = (row: SummaryColumns): MeasureSummary => ({
  count: Number(row.m_count ?? 0),
  sum: numberOrNull(row.m_sum),
  min: numberOrNull(row.m_min),
  max: numberOrNull(row.m_max),
  skipped: Number(row.m_skipped ?? 0),
});

/**
 * The rollup rows of [from, to): whole hours from the hourly table, the minutes before the first
 * and after the last whole hour from the per-minute one. Parameters: $1 pipeline, $2 dimension,
 * $3 from, $4 to, $5 the measures read ('' is the events counted), $6 first whole hour, $7 end of
 * the last whole hour.
 */
const RANGE = `
  SELECT value, bucket, measure, count, sum, min, max, skipped FROM dimension_rollup_1h
  WHERE pipeline_id = $1 AND dimension = $2 AND measure = ANY ($5::text[]) AND bucket >= $6 AND bucket < $7
  UNION ALL
  SELECT value, bucket, measure, count, sum, min, max, skipped FROM dimension_rollup_1m
  WHERE pipeline_id = $1 AND dimension = $2 AND measure = ANY ($5::text[]) AND bucket >= $3 AND bucket < $4 AND NOT (bucket >= $6 AND bucket < $7)`;

// The measure's columns of a set of rollup rows ($8: the measure, NULL for none).
const MEASURE_COLUMNS = `
  sum(count) FILTER (WHERE measure = $8) AS m_count, sum(sum) FILTER (WHERE measure = $8) AS m_sum,
  min(min) FILTER (WHERE measure = $8) AS m_min, max(max) FILTER (WHERE measure = $8) AS m_max,
  sum(skipped) FILTER (WHERE measure = $8) AS m_skipped`;

/** Reads of the gold layer by dimension (the rollups the writer keeps; see events.sql.ts). */
@Injectable()
export class BreakdownsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  private params(pipelineId: string, range: RollupRange, extra: unknown[]): unknown[] {
    const firstHour = Math.ceil(range.from.getTime() / HOUR_MS) * HOUR_MS;
    const lastHour = Math.max(firstHour, Math.floor(range.to.getTime() / HOUR_MS) * HOUR_MS);
    const measures = range.measure === undefined ? [''] : ['', range.measure];
    return [pipelineId, range.by, range.from, range.to, measures, new Date(firstHour), new Date(lastHour), range.measure ?? null, range.limit, ...extra];
  }

  /** The top `limit` values by events counted, largest first, then `(other)` (the values past the cap and those past the limit). */
  async breakdown(pipelineId: string, range: RollupRange): Promise<BreakdownRow[]> {
    const { rows } = await this.pool.query<SummaryColumns & { value: string; count: string; rest: boolean }>(
      `WITH grouped AS (
         SELECT value, sum(count) FILTER (WHERE measure = '') AS count, ${MEASURE_COLUMNS}
         FROM (${RANGE}) r GROUP BY value
       ), ranked AS (
         SELECT *, row_number() OVER (ORDER BY count DESC, value) AS rank FROM grouped WHERE value <> '(other)'
       )
       SELECT value, count, m_count, m_sum, m_min, m_max, m_skipped, false AS rest FROM ranked WHERE rank <= $9
       UNION ALL
       SELECT '(other)', sum(count), sum(m_count), sum(m_sum), min(m_min), max(m_max), sum(m_skipped), true
       FROM (SELECT value, count, m_count, m_sum, m_min, m_max, m_skipped FROM ranked WHERE rank > $9
             UNION ALL SELECT value, count, m_count, m_sum, m_min, m_max, m_skipped FROM grouped WHERE value = '(other)') o
       HAVING count(*) > 0`,
      this.params(pipelineId, range, []),
    );
    const items = rows
      .map((row) => ({ value: row.value, count: Number(row.count), rest: row.rest, ...(range.measure === undefined ? {} : { measure: summary(row) }) }))
      .sort((a, b) => Number(a.rest) - Number(b.rest) || b.count - a.count || (a.value < b.value ? -1 : 1));
    return items.map(({ rest: _rest, ...item }) => item);
  }

  /** Per bucket (`interval`, epoch-aligned) and value: the top `limit` values by events counted over the range, the others as `(other)`. */
  async grouped(pipelineId: string, range: RollupRange & { interval: string }): Promise<GroupedRow[]> {
    const { rows } = await this.pool.query<SummaryColumns & { value: string; t: Date; count: string }>(
      `WITH r AS MATERIALIZED (${RANGE}), top AS (
         SELECT value FROM r WHERE measure = '' AND value <> '(other)' GROUP BY value ORDER BY sum(count) DESC, value LIMIT $9
       )
       SELECT CASE WHEN value IN (SELECT value FROM top) THEN value ELSE '(other)' END AS value,
         date_bin($10::interval, bucket, TIMESTAMPTZ 'epoch') AS t, sum(count) FILTER (WHERE measure = '') AS count, ${MEASURE_COLUMNS}
       FROM r GROUP BY 1, 2`,
      this.params(pipelineId, range, [range.interval]),
    );
    return rows.map((row) => ({ value: row.value, t: row.t.getTime(), count: Number(row.count), ...(range.measure === undefined ? {} : { measure: summary(row) }) }));
  }
}
