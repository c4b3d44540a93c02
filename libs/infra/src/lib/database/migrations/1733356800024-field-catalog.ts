import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The field catalog (issue 24): the payload paths each pipeline's sampled events carry, with their
 * JSON types, how many sampled events carried them, a few examples and when they were first and
 * last seen; and per pipeline how many events were sampled (the denominator of a path's share).
 */
export class FieldCatalog1733356800024 implements MigrationInterface {
  name = 'FieldCatalog1733356800024';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE field_catalog (
        pipeline_id uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
        path text NOT NULL,
        types text[] NOT NULL,
        seen bigint NOT NULL,
        examples jsonb NOT NULL,
        first_seen_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        PRIMARY KEY (pipeline_id, path)
      )`);
    await q.query(`
      CREATE TABLE field_samples (
        pipeline_id uuid PRIMARY KEY REFERENCES pipelines(id) ON DELETE CASCADE,
        sampled bigint NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS field_catalog, field_samples`);
  }
}
