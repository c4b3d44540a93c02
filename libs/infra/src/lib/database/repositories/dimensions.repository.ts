import { Inject, Injectable } from '@nestjs/common';
import type { BackfillProgress } from '@dash/domain';
import type { Pool } from 'pg';
import { inTransaction } from '../transaction';
import { coarserRollupsSql, ROW_VERSIONS, WEEKS_FROM_DAYS } from '../migrations/1765324800000-day-rollups-compacted';
import { BLOCKS_FROM_HOURS, DAYS_FROM_BLOCKS } from '../migrations/1765411200000-rollup-blocks';
import { PG_POOL } from '../database.tokens';
import { groupBackfill } from './dimension-groups';
import { dimensionRollupsSql, groupsSql } from './events.sql';

/** Time one transaction closes at most (see closeBlocks): a week. */
const CLOSE_HOURS_PER_STEP = 7 * 24;
/** Attempts at closing blocks with the rows made before the lock; the next one locks first. */
const UNLOCKED_ATTEMPTS = 2;
const BLOCK_MS = 6 * 3_600_000;
const DAY_MS = 86_400_000;
/** The start of the epoch-aligned bin of `binMs` a time is in (date_bin(…, epoch)). */
const binStart = (ms: number, binMs: number) => new Date(Math.floor(ms / binMs) * binMs);

/** The block a pipeline's rollups are closed up to: the parameter, else the current 6-hour block's start. */
const closingUntil = (param: string) => `coalesce(${param}::timestamptz, date_bin('6 hours', now(), timestamptz 'epoch'))`;

/** The rows a close made its rows from changed before it held the lock: they are made again. */
class StaleRows extends Error {}

/** Events one backfill step reads at most. */
export const BACKFILL_STEP_EVENTS = 2000;

const without = (list: readonly string[], removed: readonly string[]) => list.filter((item) => !removed.includes(item));

/** The dimensions the writer keeps rollups by: the type and the declared ones, once anything is declared. */
const rolledUp = (dimensions: readonly string[], measures: readonly string[]) => (dimensions.length > 0 || measures.length > 0 ? ['type', ...dimensions.filter((d) => d !== 'type')] : []);

/**
 * A backfill job's rows locked for a step: the pipeline's row first, FOR SHARE as a batch holds it,
 * so that a declaration (which locks it FOR UPDATE, then the rollups and the job) falls between two
 * steps. Taking the job's row first deadlocked with one: the step's new rollup rows wait on the
 * pipeline's row (their foreign key) while the declaration waits on the step's rollup rows. The job
 * is read after the pipeline's lock, so a declaration that committed meanwhile is seen.
 */
const LOCKED_JOB = `
  pipeline AS MATERIALIZED (
    SELECT p.id, p.rollups_closed_before FROM pipelines p WHERE p.id = (SELECT pipeline_id FROM dimension_backfills WHERE id = $1) FOR SHARE
  ), job AS MATERIALIZED (
    SELECT b.* FROM dimension_backfills b JOIN pipeline p ON p.id = b.pipeline_id WHERE b.id = $1 AND b.finished_at IS NULL FOR UPDATE OF b SKIP LOCKED
  )`;

/**
 * One step of a backfill read in SQL (a step whose payloads the ingestor cannot group; the others
 * take LOCK_JOB_SQL, SCAN_SQL and APPLY_SQL below), in its own transaction: the next events of the
 * job's pipeline in (occurred_at, seq) order from its cursor, at most $2; those stored before the
 * declaration (seq ≤ boundary) are added to the rollups for the paths declared later: the new
 * dimensions with every measure (and their counts), the earlier dimensions with the new measures.
 * The cursor moves in the same transaction, so a step interrupted anywhere is done again whole,
 * never twice.
 */
const STEP_SQL = `
  WITH${LOCKED_JOB}, scanned AS MATERIALIZED (
    SELECT e.seq, e.pipeline_id, e.type, e.occurred_at, e.payload FROM events e, job j
    WHERE e.pipeline_id = j.pipeline_id AND (e.occurred_at, e.seq) > (j.cursor_at, j.cursor_seq)
    ORDER BY e.occurred_at, e.seq LIMIT $2
  ), backfilled AS MATERIALIZED (
    SELECT s.* FROM scanned s, job j WHERE s.seq <= j.boundary
  ), plan AS (
    SELECT j.pipeline_id, d.dimension, j.all_measures AS measures, true AS counts FROM job j CROSS JOIN LATERAL unnest(j.dimensions) AS d(dimension)
    UNION ALL
    SELECT j.pipeline_id, d.dimension, j.measures, false FROM job j CROSS JOIN LATERAL unnest(j.all_dimensions) AS d(dimension)
    WHERE d.dimension <> ALL (j.dimensions) AND cardinality(j.measures) > 0
  )${dimensionRollupsSql('backfilled', 'plan', '(SELECT id AS pipeline_id, rollups_closed_before FROM pipeline)')}
  , last AS (
    SELECT occurred_at, seq FROM scanned ORDER BY occurred_at DESC, seq DESC LIMIT 1
  )
  UPDATE dimension_backfills b SET
    cursor_at = coalesce((SELECT occurred_at FROM last), b.cursor_at),
    cursor_seq = coalesce((SELECT seq FROM last), b.cursor_seq),
    done = b.done + (SELECT count(*) FROM backfilled),
    finished_at = CASE WHEN (SELECT count(*) FROM scanned) < $2 THEN now() END
  FROM job WHERE b.id = job.id
  RETURNING b.finished_at IS NOT NULL AS finished`;

/**
 * The faster form of a step (see STEP_SQL for what a step does), in one transaction: the job is
 * locked as there (the pipeline's row first), its next events are read, the ingestor groups their
 * payloads as it groups a batch (dimension-groups.ts), and APPLY_SQL adds the groups and moves the
 * cursor. PostgreSQL then adds grouped rows instead of reading every payload once per path.
 */
const LOCK_JOB_SQL = `
  WITH${LOCKED_JOB}
  SELECT pipeline_id, dimensions, measures, all_dimensions, all_measures, boundary::text AS boundary, cursor_at::text AS cursor_at, cursor_seq::text AS cursor_seq
  FROM job`;

// The cursor as text: it goes back exactly (microseconds, a bigint). Named apart from the columns:
// ORDER BY takes an output column's name first, and a seq ordered as text skipped events.
const SCAN_SQL = `
  SELECT seq::text AS seq_text, type, (extract(epoch FROM occurred_at) * 1000)::float8 AS at_ms, occurred_at::text AS at_text, payload::text AS payload
  FROM events WHERE pipeline_id = $1 AND (occurred_at, seq) > ($2::timestamptz, $3::bigint)
  ORDER BY occurred_at, seq LIMIT $4`;

// The job's pipeline's mark, read after LOCK_JOB_SQL locked its row (this statement's snapshot is later).
const LOCKED_MARK = '(SELECT p.id AS pipeline_id, p.rollups_closed_before FROM pipelines p JOIN dimension_backfills b ON b.pipeline_id = p.id WHERE b.id = $2)';

const APPLY_SQL = `
  WITH no_events AS (
    SELECT NULL::bigint AS seq, NULL::uuid AS pipeline_id, NULL::text AS type, NULL::timestamptz AS occurred_at, NULL::jsonb AS payload WHERE false
  ), no_plan AS (
    SELECT NULL::uuid AS pipeline_id, NULL::text AS dimension, NULL::text[] AS measures, NULL::boolean AS counts WHERE false
  )${dimensionRollupsSql('no_events', 'no_plan', LOCKED_MARK, groupsSql('$1::jsonb'))}
  UPDATE dimension_backfills b SET
    cursor_at = coalesce($3::timestamptz, b.cursor_at),
    cursor_seq = coalesce($4::bigint, b.cursor_seq),
    done = b.done + $5,
    finished_at = CASE WHEN $6::boolean THEN now() END
  WHERE b.id = $2
  RETURNING b.finished_at IS NOT NULL AS finished`;

interface LockedJob {
  pipeline_id: string;
  dimensions: string[];
  measures: string[];
  all_dimensions: string[];
  all_measures: string[];
  boundary: string;
  cursor_at: string;
  cursor_seq: string;
}

/** A dimension rollup's measure columns, aligned with its `measures` (see the MeasuresInRow migration). */
const MEASURE_COLUMNS = ['measure_counts', 'sums', 'mins', 'maxes', 'skipped', 'measures'];
/** A SET clause that keeps a measure column's entries of the measures not in $2. */
const withoutMeasures = (column: string) => `${column} = ARRAY(SELECT ${column}[i] FROM generate_subscripts(measures, 1) AS i WHERE measures[i] <> ALL ($2::text[]) ORDER BY i)`;

/** Declared dimensions and measures, and the backfill of those declared after events were stored. */
@Injectable()
export class DimensionsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Sets a pipeline's dimensions and measures in one transaction. The pipeline's row is locked
   * first: batches being written (they hold it FOR SHARE) finish, later ones wait, so the events
   * stored so far are exactly those up to the event sequence read here, and they are left to a
   * backfill job for the paths added. Paths removed lose their rollups (and leave pending jobs),
   * so declaring one again starts it afresh. False when the pipeline does not exist.
   */
  async declare(pipelineId: string, dimensions: readonly string[], measures: readonly string[]): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ dimensions: string[]; measures: string[] }>('SELECT dimensions, measures FROM pipelines WHERE id = $1 FOR UPDATE', [pipelineId]);
      if (rows.length === 0) return false;
      const [before] = rows;
      const beforeDimensions = rolledUp(before.dimensions, before.measures);
      const afterDimensions = rolledUp(dimensions, measures);
      const addedDimensions = without(afterDimensions, beforeDimensions);
      const addedMeasures = without(measures, before.measures);
      const removedDimensions = without(beforeDimensions, afterDimensions);
      const removedMeasures = without(before.measures, measures);
      await client.query('UPDATE pipelines SET dimensions = $2, measures = $3, updated_at = now() WHERE id = $1', [pipelineId, dimensions, measures]);
      if (removedDimensions.length > 0 || removedMeasures.length > 0) {
        for (const table of ['dimension_rollup_1m', 'dimension_rollup_1h', 'dimension_rollup_6h', 'dimension_rollup_1d', 'dimension_rollup_1w']) {
          await client.query(`DELETE FROM ${table} WHERE pipeline_id = $1 AND dimension = ANY ($2)`, [pipelineId, removedDimensions]);
          await client.query(`UPDATE ${table} SET ${MEASURE_COLUMNS.map(withoutMeasures).join(', ')} WHERE pipeline_id = $1 AND measures && $2::text[]`, [pipelineId, removedMeasures]);
        }
        await client.query('DELETE FROM dimension_values WHERE pipeline_id = $1 AND dimension = ANY ($2)', [pipelineId, removedDimensions]);
        await client.query(
          `UPDATE dimension_backfills SET
             dimensions = ARRAY(SELECT unnest(dimensions) EXCEPT SELECT unnest($2::text[])), all_dimensions = ARRAY(SELECT unnest(all_dimensions) EXCEPT SELECT unnest($2::text[])),
             measures = ARRAY(SELECT unnest(measures) EXCEPT SELECT unnest($3::text[])), all_measures = ARRAY(SELECT unnest(all_measures) EXCEPT SELECT unnest($3::text[]))
           WHERE pipeline_id = $1 AND finished_at IS NULL`,
          [pipelineId, removedDimensions, removedMeasures],
        );
        // A job left with nothing to add ends here instead of walking the events for nothing.
        await client.query(
          `UPDATE dimension_backfills SET finished_at = now() WHERE pipeline_id = $1 AND finished_at IS NULL AND cardinality(dimensions) = 0 AND cardinality(measures) = 0`,
          [pipelineId],
        );
      }
      if (addedDimensions.length > 0 || addedMeasures.length > 0) {
        await client.query(
          `INSERT INTO dimension_backfills (pipeline_id, dimensions, measures, all_dimensions, all_measures, boundary, total)
           SELECT $1, $2, $3, $4, $5, coalesce(pg_sequence_last_value(pg_get_serial_sequence('events', 'seq')::regclass), 0),
             coalesce((SELECT count FROM pipeline_stats WHERE pipeline_id = $1), 0)`,
          [pipelineId, addedDimensions, addedMeasures, afterDimensions, measures],
        );
      }
      return true;
    });
  }

  /** Forgets the values admitted in hours older than `days` (the cap's bookkeeping, not the rollups). */
  async trimAdmittedValues(days: number): Promise<void> {
    await this.pool.query(`DELETE FROM dimension_values WHERE hour < now() - make_interval(days => $1)`, [days]);
  }

  /**
   * Makes the rows of each pipeline's closed 6-hour blocks from their hour rows, of the days they
   * complete from their blocks and of the weeks those complete from their days, and moves its mark
   * (`rollups_closed_before`) to `until`, a block's start (default: the current block's); from then
   * on the writer keeps those bins' rows itself (a late event). Per pipeline, at most a week per
   * transaction (closeBlocks). Idempotent and safe on several nodes. Returns the blocks closed.
   */
  async compactRollups(until?: Date): Promise<number> {
    const { rows: behind } = await this.pool.query<{ id: string }>(`SELECT id FROM pipelines WHERE rollups_closed_before < ${closingUntil('$1')} ORDER BY id`, [until ?? null]);
    let blocks = 0;
    for (const { id } of behind) {
      for (let made = await this.closeBlocks(id, until ?? null); made > 0; made = await this.closeBlocks(id, until ?? null)) blocks += made;
    }
    return blocks;
  }

  /**
   * Closes a pipeline's next blocks (at most a week), in one transaction: their rows made from the
   * hours, the rows of the days they complete made from the blocks, those of the weeks these
   * complete from the days, the mark moved past them. The mark must move under the pipeline's row
   * lock, which batches and backfill steps hold FOR SHARE while they write: those before finish
   * first, later ones read the new mark. Making the rows takes seconds for a pipeline of many
   * values, so they are made before the lock, and the lock only checks that the rows they were made
   * from are unchanged (a late event or a backfill step meanwhile: made again); the last attempt
   * locks first. Returns the blocks closed: 0 when none are left or another node is closing them.
   */
  private async closeBlocks(id: string, until: Date | null): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      const lockFirst = attempt > UNLOCKED_ATTEMPTS;
      try {
        return await inTransaction(this.pool, async (client) => {
          const lock = async () => (await client.query<{ mark: Date }>('SELECT rollups_closed_before AS mark FROM pipelines WHERE id = $1 FOR NO KEY UPDATE', [id])).rows[0]?.mark;
          if (lockFirst && (await lock()) === undefined) return 0;
          const { rows: [range] } = await client.query<{ from: Date; to: Date }>(
            `SELECT rollups_closed_before AS "from", least(rollups_closed_before + interval '${CLOSE_HOURS_PER_STEP} hours', ${closingUntil('$2')}) AS "to"
             FROM pipelines WHERE id = $1 AND rollups_closed_before < ${closingUntil('$2')}`,
            [id, until],
          );
          if (!range) return 0;
          // The blocks closed, then the days they complete (those before the day of the new mark,
          // from that of the old one), then the weeks those complete.
          const closed = (binMs: number) => [id, binStart(range.from.getTime(), binMs), binStart(range.to.getTime(), binMs)];
          const steps = [[BLOCKS_FROM_HOURS, closed(BLOCK_MS)], [DAYS_FROM_BLOCKS, closed(DAY_MS)], [WEEKS_FROM_DAYS, closed(7 * DAY_MS)]] as const;
          const made: string[] = [];
          for (const [coarsening, bounds] of steps) {
            await client.query(`DELETE FROM ${coarsening.to} WHERE pipeline_id = $1 AND bucket >= $2 AND bucket < $3`, bounds);
            const { rows: [coarser] } = await client.query<{ versions: string }>(coarserRollupsSql(coarsening, 'f.pipeline_id = $1 AND f.bucket >= $2 AND f.bucket < $3'), bounds);
            made.push(coarser.versions);
          }
          if (!lockFirst) {
            // New statements after the lock: their snapshots hold every batch that held the row before.
            if ((await lock())?.getTime() !== range.from.getTime()) throw new StaleRows();
            for (const [i, [coarsening, bounds]] of steps.entries()) {
              const { rows: [now] } = await client.query<{ versions: string }>(
                `SELECT ${ROW_VERSIONS} AS versions FROM (SELECT xmin AS row_xmin, ctid AS row_ctid FROM ${coarsening.from} WHERE pipeline_id = $1 AND bucket >= $2 AND bucket < $3) f`,
                bounds,
              );
              if (now.versions !== made[i]) throw new StaleRows();
            }
          }
          await client.query('UPDATE pipelines SET rollups_closed_before = $2 WHERE id = $1', [id, range.to]);
          return Math.round((range.to.getTime() - range.from.getTime()) / BLOCK_MS);
        });
      } catch (error) {
        if (error instanceof StaleRows) continue;
        // Another node made the same rows first (a unique key): it is closing these blocks.
        if ((error as { code?: string }).code === '23505') return 0;
        throw error;
      }
    }
  }

  /** The oldest backfill job not finished, if any. */
  async nextBackfill(): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>('SELECT id FROM dimension_backfills WHERE finished_at IS NULL ORDER BY id LIMIT 1');
    return rows[0]?.id ?? null;
  }

  /**
   * Runs one bounded step of a job; true once it is finished (or another node holds it: null). The
   * step's payloads are grouped here; where one holds anything read differently here than in
   * PostgreSQL (an object as a value, an exponent), the whole step runs as STEP_SQL instead.
   */
  async backfillStep(jobId: string, events = BACKFILL_STEP_EVENTS): Promise<boolean | null> {
    const step = await inTransaction(this.pool, async (client): Promise<boolean | null | 'in-sql'> => {
      const { rows: [job] } = await client.query<LockedJob>(LOCK_JOB_SQL, [jobId]);
      if (!job) return null;
      const { rows } = await client.query<{ seq_text: string; type: string | null; at_ms: number; at_text: string; payload: string }>(SCAN_SQL, [job.pipeline_id, job.cursor_at, job.cursor_seq, events]);
      const boundary = BigInt(job.boundary);
      const backfilled = rows
        .filter((row) => BigInt(row.seq_text) <= boundary)
        .map((row) => ({ pipelineId: job.pipeline_id, id: row.seq_text, type: row.type, occurredAt: row.at_ms, receivedAt: 0, payloadJson: row.payload }));
      const groups = groupBackfill(job.pipeline_id, backfilled, { dimensions: job.dimensions, measures: job.measures, allDimensions: job.all_dimensions, allMeasures: job.all_measures });
      // Nothing written yet: this transaction ends, and the step runs whole in SQL.
      if (groups === null) return 'in-sql';
      const last = rows.at(-1);
      const { rows: [moved] } = await client.query<{ finished: boolean }>(APPLY_SQL, [JSON.stringify(groups), jobId, last?.at_text ?? null, last?.seq_text ?? null, backfilled.length, rows.length < events]);
      return moved.finished;
    });
    if (step !== 'in-sql') return step;
    const { rows: [inSql] } = await this.pool.query<{ finished: boolean }>(STEP_SQL, [jobId, events]);
    return inSql?.finished ?? null;
  }

  /** What `GET /api/pipelines/:id` shows: the running backfills, else the last one, else null. */
  async progress(pipelineId: string): Promise<BackfillProgress | null> {
    const { rows } = await this.pool.query<{ dimensions: string[]; measures: string[]; done: string; total: string; finished_at: Date | null; created_at: Date }>(
      `SELECT dimensions, measures, done, total, finished_at, created_at FROM dimension_backfills WHERE pipeline_id = $1
       ORDER BY finished_at IS NULL DESC, id DESC LIMIT 20`,
      [pipelineId],
    );
    const running = rows.filter((row) => row.finished_at === null);
    const shown = running.length > 0 ? running : rows.slice(0, 1);
    if (shown.length === 0) return null;
    const done = shown.reduce((sum, row) => sum + Number(row.done), 0);
    const total = shown.reduce((sum, row) => sum + Number(row.total), 0);
    return {
      state: running.length > 0 ? 'running' : 'done',
      dimensions: [...new Set(shown.flatMap((row) => row.dimensions))],
      measures: [...new Set(shown.flatMap((row) => row.measures))],
      done,
      // The pipeline's count when declared: an estimate (events stored meanwhile come later in time order).
      total: Math.max(total, done),
      startedAt: shown[shown.length - 1].created_at.toISOString(),
      finishedAt: running.length > 0 ? null : (shown[0].finished_at?.toISOString() ?? null),
    };
  }
}
