import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Viewer tokens get a label and their last use, for the tokens page. A revoked token's row is
 * deleted: nothing about it needs keeping, and a lookup by hash then simply finds nothing.
 */
export class Tokens1732752000006 implements MigrationInterface {
  name = 'Tokens1732752000006';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_tokens ADD COLUMN label text, ADD COLUMN last_used_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_tokens DROP COLUMN label, DROP COLUMN last_used_at`);
  }
}
