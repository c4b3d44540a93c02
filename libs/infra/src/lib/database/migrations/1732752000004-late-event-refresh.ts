import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * TimescaleDB mode: the continuous aggregates' refresh policies reach back to the beginning
 * (`start_offset => NULL`) instead of 3 and 7 days. Below the materialization watermark a real-time
 * aggregate reads only what was materialized, so a late event older than the window was never
 * counted in the series at all. A refresh only recomputes the buckets the invalidation log names,
 * so the unbounded window costs what the late events touched, not a rescan of the history.
 * Native mode keeps its rollups in the writer and needs nothing here.
 */
export class LateEventRefresh1732752000004 implements MigrationInterface {
  name = 'LateEventRefresh1732752000004';

  async up(q: QueryRunner): Promise<void> {
    const [meta] = (await q.query(`SELECT value FROM dash_meta WHERE key = 'storage_mode'`)) as Array<{ value: string }>;
    if (meta?.value !== 'timescale') return;
    for (const [view, endOffset, every] of [
      ['event_counts_1m', '1 minute', '1 minute'],
      ['event_counts_1h', '1 hour', '5 minutes'],
    ]) {
      await q.query(`SELECT remove_continuous_aggregate_policy('${view}', if_exists => true)`);
      await q.query(
        `SELECT add_continuous_aggregate_policy('${view}', start_offset => NULL, end_offset => INTERVAL '${endOffset}', schedule_interval => INTERVAL '${every}')`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    const [meta] = (await q.query(`SELECT value FROM dash_meta WHERE key = 'storage_mode'`)) as Array<{ value: string }>;
    if (meta?.value !== 'timescale') return;
    for (const [view, startOffset, endOffset, every] of [
      ['event_counts_1m', '3 days', '1 minute', '1 minute'],
      ['event_counts_1h', '7 days', '1 hour', '5 minutes'],
    ]) {
      await q.query(`SELECT remove_continuous_aggregate_policy('${view}', if_exists => true)`);
      await q.query(
        `SELECT add_continuous_aggregate_policy('${view}', start_offset => INTERVAL '${startOffset}', end_offset => INTERVAL '${endOffset}', schedule_interval => INTERVAL '${every}')`,
      );
    }
  }
}
