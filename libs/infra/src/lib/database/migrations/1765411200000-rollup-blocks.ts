import type { MigrationInterface, QueryRunner } from 'typeorm';
import { coarserRollupsSql, type Coarsening } from './1765324800000-day-rollups-compacted';

/** 6-hour blocks (epoch-aligned: 00:00, 06:00, 12:00 and 18:00 UTC), made from their hours. */
export const BLOCKS_FROM_HOURS: Coarsening = { from: 'dimension_rollup_1h', to: 'dimension_rollup_6h', bin: '6 hours' };
/** Days made from their four blocks. */
export const DAYS_FROM_BLOCKS: Coarsening = { from: 'dimension_rollup_6h', to: 'dimension_rollup_1d', bin: '1 day' };

/**
 * 6-hour blocks between the hours and the days of the dimension rollups (issue 24's read speed: a
 * read's partial days at its edges, up to 23 hours each, take whole blocks and at most 5 hours).
 * The pipeline's mark becomes `rollups_closed_before`, the start of a 6-hour block: the writer
 * upserts block rows only for blocks before it, day rows for days before the day it is in, week
 * rows for weeks before the week it is in; the ingestors' upkeep makes each closed block's rows
 * from its hours, each closed day's from its blocks and each closed week's from its days, and moves
 * the mark (DimensionsRepository.compactRollups). Existing pipelines keep their mark (a day's start
 * is a block's) and get the rows of every block before it, made from their hours.
 */
export class RollupBlocks1765411200000 implements MigrationInterface {
  name = 'RollupBlocks1765411200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE pipelines RENAME COLUMN day_rollups_before TO rollups_closed_before');
    await q.query(`ALTER TABLE pipelines ALTER COLUMN rollups_closed_before SET DEFAULT date_bin('6 hours', now(), timestamptz 'epoch')`);
    await q.query('CREATE TABLE dimension_rollup_6h (LIKE dimension_rollup_1d INCLUDING DEFAULTS INCLUDING INDEXES) WITH (fillfactor = 70)');
    await q.query(`ALTER TABLE dimension_rollup_6h ADD FOREIGN KEY (pipeline_id) REFERENCES pipelines(id) ON DELETE CASCADE,
      ADD CHECK (bucket = date_bin('6 hours', bucket, timestamptz 'epoch'))`);
    await q.query(coarserRollupsSql(BLOCKS_FROM_HOURS, 'f.bucket < (SELECT p.rollups_closed_before FROM pipelines p WHERE p.id = f.pipeline_id)'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE dimension_rollup_6h');
    // Back to a day's start: the days before the day the mark is in have their rows, the others none.
    await q.query(`UPDATE pipelines SET rollups_closed_before = date_bin('1 day', rollups_closed_before, timestamptz 'epoch')`);
    await q.query(`ALTER TABLE pipelines ALTER COLUMN rollups_closed_before SET DEFAULT date_bin('1 day', now(), timestamptz 'epoch')`);
    await q.query('ALTER TABLE pipelines RENAME COLUMN rollups_closed_before TO day_rollups_before');
  }
}
