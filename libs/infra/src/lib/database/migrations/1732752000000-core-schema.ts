import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Pipelines, access tokens, per-pipeline stats, the deduplication window and ingest failures. */
export class CoreSchema1732752000000 implements MigrationInterface {
  name = 'CoreSchema1732752000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    await q.query(`
      CREATE TABLE dash_meta (
        key text PRIMARY KEY,
        value text NOT NULL
      )`);
    await q.query(`
      CREATE TABLE pipelines (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        source jsonb NOT NULL,
        event_id_path text NOT NULL DEFAULT 'id',
        event_time_path text NOT NULL DEFAULT 'timestamp',
        event_type_path text NOT NULL DEFAULT 'type',
        signing_secret text NOT NULL,
        previous_secret text,
        previous_secret_expires_at timestamptz,
        last_poll jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE api_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        token_hash bytea NOT NULL UNIQUE,
        pipeline_ids uuid[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One row per pipeline, updated in the same transaction as each batch: exact counts without COUNT(*).
    await q.query(`
      CREATE TABLE pipeline_stats (
        pipeline_id uuid PRIMARY KEY REFERENCES pipelines(id) ON DELETE CASCADE,
        count bigint NOT NULL DEFAULT 0,
        version bigint NOT NULL DEFAULT 0,
        last_event jsonb,
        last_event_at timestamptz
      )`);
    // The deduplication window, keyed on (pipeline, event id) alone: a retry with a new
    // timestamp (or no event time, so a new received time) still finds its first delivery.
    await q.query(`
      CREATE TABLE event_ids (
        pipeline_id uuid NOT NULL,
        event_id text NOT NULL,
        received_at timestamptz NOT NULL,
        PRIMARY KEY (pipeline_id, event_id)
      )`);
    await q.query(`CREATE INDEX event_ids_received_at ON event_ids (received_at)`);
    await q.query(`
      CREATE TABLE ingest_failures (
        id bigserial PRIMARY KEY,
        pipeline_id uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
        event_id text NOT NULL,
        event text NOT NULL,
        reason text NOT NULL,
        attempts int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (pipeline_id, event_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['ingest_failures', 'event_ids', 'pipeline_stats', 'api_tokens', 'pipelines', 'dash_meta']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
