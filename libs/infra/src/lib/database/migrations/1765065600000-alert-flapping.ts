import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Flapping damping: `met` is the condition's last verdict (the state follows it, except while
 * `flapping`), `flips` the times it changed within the flap window (trimmed on every change).
 * A notification may say `flapping`.
 */
export class AlertFlapping1765065600000 implements MigrationInterface {
  name = 'AlertFlapping1765065600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE alert_rules ADD COLUMN met boolean NOT NULL DEFAULT false, ADD COLUMN flips timestamptz[] NOT NULL DEFAULT '{}'`);
    await q.query(`UPDATE alert_rules SET met = (state = 'firing')`);
    await q.query(`ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_state_check, ADD CONSTRAINT alert_rules_state_check CHECK (state IN ('ok', 'firing', 'flapping'))`);
    await q.query(
      `ALTER TABLE alert_notifications DROP CONSTRAINT alert_notifications_kind_check, ADD CONSTRAINT alert_notifications_kind_check CHECK (kind IN ('firing', 'resolved', 'flapping'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM alert_notifications WHERE kind = 'flapping'`);
    await q.query(`UPDATE alert_rules SET state = CASE WHEN met THEN 'firing' ELSE 'ok' END WHERE state = 'flapping'`);
    await q.query(`ALTER TABLE alert_notifications DROP CONSTRAINT alert_notifications_kind_check, ADD CONSTRAINT alert_notifications_kind_check CHECK (kind IN ('firing', 'resolved'))`);
    await q.query(`ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_state_check, ADD CONSTRAINT alert_rules_state_check CHECK (state IN ('ok', 'firing'))`);
    await q.query(`ALTER TABLE alert_rules DROP COLUMN flips, DROP COLUMN met`);
  }
}
