import { Inject, Injectable } from '@nestjs/common';
import type { MeasureSummary, PathFilter } from '@dash/domain';
import type { Pool, QueryResultRow } from 'pg';
import { PG_POOL } from '../database.tokens';
import { inTransaction } from '../transaction';

const HOUR_MS = 3_600_000;
const BLOCK_MS = 6 * HOUR_MS;
const DAY_MS = 24 * HOUR_MS;

/** Which rollup rows a read covers: a pipeline's dimension over [from, to), optionally one measure. */
export interface RollupRange {
  by: string;
  from: Date;
  to: Date;
  measure?: string;
  /** Top values kept; the rest are merged into `(other)`. */
  limit: number;
  /** `<dimension>=<value>` filters (AND): read from the events themselves. */
  where?: readonly PathFilter[];
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

/** Query parameters, each added once and named by its placeholder. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    return `$${this.values.push(value)}`;
  }
}

/** The measure columns of a read without a measure. */
const NO_MEASURE = 'NULL::bigint AS m_count, NULL::numeric AS m_sum, NULL::numeric AS m_min, NULL::numeric AS m_max, NULL::bigint AS m_skipped';

const UNITS = [
  { table: 'dimension_rollup_1w', ms: 7 * DAY_MS },
  { table: 'dimension_rollup_1d', ms: DAY_MS },
  { table: 'dimension_rollup_6h', ms: BLOCK_MS },
  { table: 'dimension_rollup_1h', ms: HOUR_MS },
  { table: 'dimension_rollup_1m', ms: 60_000 },
];

/**
 * Rows of (value, bucket, count, m_count, m_sum, m_min, m_max, m_skipped: the measure's, NULL
 * without one) for a dimension over the minutes that start in [from, to), from the rollups: whole
 * weeks (epoch-aligned 7-day bins) from the weekly table, whole days around them from the daily
 * one and whole 6-hour blocks around those from the block table, all only where closed (before
 * `closedBefore`, the pipeline's `rollups_closed_before`: later ones have no rows yet), the whole
 * hours around them from the hourly one, the minutes at the edges from the per-minute one.
 * `binMs`: the epoch-aligned bins the caller groups the rows in, if any: only rollups whose
 * buckets fit in them are read (a grouped series of 5-minute bins reads minutes).
 */
function rollupRows(params: Params, pipelineId: string, range: RollupRange, closedBefore: Date, binMs?: number): string {
  const [pipeline, dimension] = [params.add(pipelineId), params.add(range.by)];
  // The measure's entries, at its position in a row's measures; without a measure the arrays are not read at all.
  const position = range.measure === undefined ? null : `array_position(measures, ${params.add(range.measure)}::text)`;
  const measured = position === null
    ? NO_MEASURE
    : `measure_counts[${position}] AS m_count, sums[${position}] AS m_sum, mins[${position}] AS m_min, maxes[${position}] AS m_max, skipped[${position}] AS m_skipped`;
  const parts: string[] = [];
  // Each unit covers [start, end) minus what the larger units before it covered. Every unit's range
  // holds the larger ones' (whole days around whole weeks, blocks around them, hours around those, minutes around all).
  let covered: { start: string; end: string } | null = null;
  for (const unit of UNITS.filter((candidate) => binMs === undefined || binMs % candidate.ms === 0)) {
    const finest = unit.ms === 60_000;
    const start = finest ? range.from.getTime() : Math.ceil(range.from.getTime() / unit.ms) * unit.ms;
    // Blocks, days and weeks only where closed: before the mark (a bin ends at or before it: its bin floors there).
    const last = unit.ms >= BLOCK_MS ? Math.min(range.to.getTime(), closedBefore.getTime()) : range.to.getTime();
    const end = finest ? last : Math.max(start, Math.floor(last / unit.ms) * unit.ms);
    if (end > start) {
      const bounds = { start: params.add(new Date(start)), end: params.add(new Date(end)) };
      const outside = covered === null ? '' : ` AND NOT (bucket >= ${covered.start} AND bucket < ${covered.end})`;
      parts.push(`
        SELECT value, bucket, count, ${measured} FROM ${unit.table} WHERE pipeline_id = ${pipeline} AND dimension = ${dimension}
          AND bucket >= ${bounds.start} AND bucket < ${bounds.end}${outside}`);
      covered = bounds;
    }
  }
  return parts.length > 0 ? parts.join(' UNION ALL ') : `SELECT NULL::text AS value, NULL::timestamptz AS bucket, 0::bigint AS count, ${NO_MEASURE} WHERE false`;
}

/** The text a dimension has in an event, as the rollups take it (at most 200 characters; NULL when missing or null). */
const dimensionText = (params: Params, dimension: string) =>
  dimension === 'type' ? 'left(type, 200)' : `left(payload #>> ${params.add(dimension.split('.'))}::text[], 200)`;

/**
 * The same rows computed from the stored events themselves, for a read filtered by `where` (the
 * rollups are kept per dimension, so one dimension cannot be filtered by another there). Values
 * are the events' own: no cap applies. Bounded by the caller (see filteredStart).
 */
function filteredRows(params: Params, pipelineId: string, range: RollupRange, where: readonly PathFilter[]): string {
  const filters = where.map((filter) => {
    const text = dimensionText(params, filter.path);
    return filter.value === '(none)' ? `${text} IS NULL` : `${text} = ${params.add(filter.value)}`;
  });
  const measure = range.measure === undefined ? null : `payload #> ${params.add(range.measure.split('.'))}::text[]`;
  const events = `(
      SELECT coalesce(${dimensionText(params, range.by)}, '(none)') AS value, date_bin('1 minute', occurred_at, timestamptz 'epoch') AS bucket
        ${measure === null ? '' : `, CASE WHEN jsonb_typeof(${measure}) = 'number' THEN (${measure})::numeric END AS num, ${measure} IS NOT NULL AND jsonb_typeof(${measure}) <> 'number' AS skip`}
      FROM events WHERE pipeline_id = ${params.add(pipelineId)}
        AND occurred_at >= ${params.add(ceilMinute(range.from))} AND occurred_at < ${params.add(ceilMinute(range.to))}${filters.map((condition) => ` AND ${condition}`).join('')}
    ) f`;
  const measured = measure === null
    ? NO_MEASURE
    : 'count(num) AS m_count, sum(num) AS m_sum, min(num) AS m_min, max(num) AS m_max, count(*) FILTER (WHERE skip) AS m_skipped';
  return `SELECT value, bucket, count(*) AS count, ${measured} FROM ${events} GROUP BY 1, 2`;
}

// A minute counts when it starts in [from, to): its events are those from the first minute start at or after `from`.
const ceilMinute = (time: Date) => new Date(Math.ceil(time.getTime() / 60_000) * 60_000);

const filtered = (range: RollupRange) => range.where !== undefined && range.where.length > 0;

// The measure's columns of a set of rows.
const MEASURE_TOTALS = 'sum(m_count) AS m_count, sum(m_sum) AS m_sum, min(m_min) AS m_min, max(m_max) AS m_max, sum(m_skipped) AS m_skipped';

/** Reads of the gold layer by dimension (the rollups the writer keeps; see events.sql.ts). */
@Injectable()
export class BreakdownsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Where a read filtered by `where` starts so that it reads at most `limit` stored events of
   * [from, to), newest first: null when the range holds no more (the whole range is read);
   * otherwise the first `alignMs` boundary (epoch-aligned, a whole number of minutes) after the
   * minute of the newest event past the limit, so that [start, to) holds at most `limit`. The
   * rollups' count of the range decides first (one cheap read); only a range over the limit walks
   * the time index, at most `limit` + 1 entries.
   */
  async filteredStart(pipelineId: string, range: Pick<RollupRange, 'from' | 'to'>, limit: number, alignMs = 60_000): Promise<Date | null> {
    const params = new Params();
    const rows = rollupRows(params, pipelineId, { by: 'type', from: range.from, to: range.to, limit: 0 }, await this.closedBefore(pipelineId));
    const [counted] = await this.read<{ n: string | null }>(`SELECT sum(count) AS n FROM (${rows}) r`, params.values, true);
    if (Number(counted?.n ?? 0) <= limit) return null;
    const { rows: [past] } = await this.pool.query<{ occurred_at: Date }>(
      `SELECT occurred_at FROM events WHERE pipeline_id = $1 AND occurred_at >= $2 AND occurred_at < $3
       ORDER BY occurred_at DESC, seq DESC OFFSET $4 LIMIT 1`,
      [pipelineId, ceilMinute(range.from), ceilMinute(range.to), limit],
    );
    if (!past) return null;
    const afterItsMinute = Math.floor(past.occurred_at.getTime() / 60_000) * 60_000 + 60_000;
    return new Date(Math.min(Math.ceil(afterItsMinute / alignMs) * alignMs, range.to.getTime()));
  }

  /**
   * The pipeline's `rollups_closed_before`, read before its rows: a later statement's snapshot
   * holds every closed bin's rows before it (a bin's rows stay complete once it is closed; the
   * hours stay too, so a block closed between the two reads is read from its hours). Of a pipeline
   * not found: the epoch (nothing closed).
   */
  private async closedBefore(pipelineId: string): Promise<Date> {
    const { rows: [row] } = await this.pool.query<{ mark: Date }>('SELECT rollups_closed_before AS mark FROM pipelines WHERE id = $1', [pipelineId]);
    return row?.mark ?? new Date(0);
  }

  private async source(params: Params, pipelineId: string, range: RollupRange, binMs?: number): Promise<string> {
    return filtered(range) ? filteredRows(params, pipelineId, range, range.where ?? []) : rollupRows(params, pipelineId, range, await this.closedBefore(pipelineId), binMs);
  }

  /**
   * A read of the rollups runs without parallel workers (`serial`): it aggregates some tens of
   * thousands of rows found by index ranges, and starting workers cost more than they saved (a
   * 30-day breakdown on PostgreSQL: 68 ms at p50 with the default two workers, 21 ms without;
   * docs/performance.md). A read of the stored events themselves (`where`) keeps the server's setting.
   */
  private async read<R extends QueryResultRow>(text: string, values: unknown[], serial: boolean): Promise<R[]> {
    if (!serial) return (await this.pool.query<R>(text, values)).rows;
    return inTransaction(this.pool, async (client) => {
      await client.query('SET LOCAL max_parallel_workers_per_gather = 0');
      return (await client.query<R>(text, values)).rows;
    });
  }

  /** The top `limit` values by events counted, largest first, then `(other)` (the values past the cap and those past the limit). */
  async breakdown(pipelineId: string, range: RollupRange): Promise<BreakdownRow[]> {
    const params = new Params();
    const source = await this.source(params, pipelineId, range);
    const limit = params.add(range.limit);
    const rows = await this.read<SummaryColumns & { value: string; count: string; rest: boolean }>(
      `WITH grouped AS (
         SELECT value, sum(count) AS count, ${MEASURE_TOTALS}
         FROM (${source}) r GROUP BY value
       ), ranked AS (
         SELECT *, row_number() OVER (ORDER BY count DESC, value) AS rank FROM grouped WHERE value <> '(other)'
       )
       SELECT value, count, m_count, m_sum, m_min, m_max, m_skipped, false AS rest FROM ranked WHERE rank <= ${limit}
       UNION ALL
       SELECT '(other)', sum(count), sum(m_count), sum(m_sum), min(m_min), max(m_max), sum(m_skipped), true
       FROM (SELECT value, count, m_count, m_sum, m_min, m_max, m_skipped FROM ranked WHERE rank > ${limit}
             UNION ALL SELECT value, count, m_count, m_sum, m_min, m_max, m_skipped FROM grouped WHERE value = '(other)') o
       HAVING count(*) > 0`,
      params.values,
      !filtered(range),
    );
    const items = rows
      .map((row) => ({ value: row.value, count: Number(row.count), rest: row.rest, ...(range.measure === undefined ? {} : { measure: summary(row) }) }))
      .sort((a, b) => Number(a.rest) - Number(b.rest) || b.count - a.count || (a.value < b.value ? -1 : 1));
    return items.map(({ rest: _rest, ...item }) => item);
  }

  /** Per bucket (`interval`, epoch-aligned) and value: the top `limit` values by events counted over the range, the others as `(other)`. */
  async grouped(pipelineId: string, range: RollupRange & { interval: string; bucketMs: number }): Promise<GroupedRow[]> {
    const params = new Params();
    const source = await this.source(params, pipelineId, range, range.bucketMs);
    const [limit, interval] = [params.add(range.limit), params.add(range.interval)];
    const rows = await this.read<SummaryColumns & { value: string; t: Date; count: string }>(
      `WITH r AS MATERIALIZED (${source}), top AS (
         SELECT value FROM r WHERE value <> '(other)' GROUP BY value ORDER BY sum(count) DESC, value LIMIT ${limit}
       )
       SELECT CASE WHEN value IN (SELECT value FROM top) THEN value ELSE '(other)' END AS value,
         date_bin(${interval}::interval, bucket, TIMESTAMPTZ 'epoch') AS t, sum(count) AS count, ${MEASURE_TOTALS}
       FROM r GROUP BY 1, 2`,
      params.values,
      !filtered(range),
    );
    return rows.map((row) => ({ value: row.value, t: row.t.getTime(), count: Number(row.count), ...(range.measure === undefined ? {} : { measure: summary(row) }) }));
  }
}
