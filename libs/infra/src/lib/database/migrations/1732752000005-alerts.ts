import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Alert rules with their state, and the notification log. A rule's `episode` counts its
 * firings; a notification is unique per (alert, episode, kind, channel), so a transition
 * retried, raced by a second ingestor or replayed after a crash can never make a second one.
 */
export class Alerts1732752000005 implements MigrationInterface {
  name = 'Alerts1732752000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE alert_rules (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        pipeline_id uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
        name text NOT NULL,
        condition jsonb NOT NULL,
        channels jsonb NOT NULL,
        signing_secret text,
        state text NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'firing')),
        since timestamptz NOT NULL DEFAULT now(),
        episode int NOT NULL DEFAULT 0,
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX alert_rules_pipeline ON alert_rules (pipeline_id)`);
    await q.query(`
      CREATE TABLE alert_notifications (
        id bigserial PRIMARY KEY,
        alert_id uuid NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
        episode int NOT NULL,
        kind text NOT NULL CHECK (kind IN ('firing', 'resolved')),
        channel_index int NOT NULL,
        channel jsonb NOT NULL,
        status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
        enqueued boolean NOT NULL DEFAULT false,
        attempts int NOT NULL DEFAULT 0,
        error text,
        at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (alert_id, episode, kind, channel_index)
      )`);
    await q.query(`CREATE INDEX alert_notifications_alert_at ON alert_notifications (alert_id, at DESC)`);
    // The sweep looks for notifications committed but never handed to the queue.
    await q.query(`CREATE INDEX alert_notifications_unqueued ON alert_notifications (id) WHERE NOT enqueued`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS alert_notifications`);
    await q.query(`DROP TABLE IF EXISTS alert_rules`);
  }
}
