import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The database's own identity (`dash_meta.deployment_id`), which binds a Redis key prefix to
 * this database (see bindKeyPrefix), and `orphaned_events`: events acknowledged for a pipeline
 * this database does not have (deleted meanwhile, or another deployment's), kept instead of
 * dropped. No foreign key: the pipeline is exactly what is missing.
 */
export class DeploymentIdentity1733270400000 implements MigrationInterface {
  name = 'DeploymentIdentity1733270400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`INSERT INTO dash_meta (key, value) VALUES ('deployment_id', gen_random_uuid()::text) ON CONFLICT (key) DO NOTHING`);
    await q.query(`
      CREATE TABLE orphaned_events (
        id bigserial PRIMARY KEY,
        pipeline_id uuid NOT NULL,
        event_id text NOT NULL,
        type text,
        occurred_at timestamptz,
        received_at timestamptz,
        payload jsonb,
        reason text NOT NULL DEFAULT 'pipeline_not_found',
        recorded_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (pipeline_id, event_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS orphaned_events`);
    await q.query(`DELETE FROM dash_meta WHERE key = 'deployment_id'`);
  }
}
