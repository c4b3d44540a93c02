import { DEFAULT_ALERT_LOOKBACK_SECONDS, MAX_ALERTS_PER_PIPELINE, type AlertInput } from '@dash/domain';
import type { Pool } from 'pg';
import { createPool } from '../database';
import { createTestDatabase, type TestDatabase } from '../../../testing/test-database';
import { AlertsRepository } from './alerts.repository';

const NO_REJECTIONS = { pipelines: [], times: [] };
const HOOK = { type: 'webhook' as const, url: 'https://hooks.example.com/dash' };

describe(AlertsRepository.name, () => {
  let database: TestDatabase;
  let pool: Pool;
  let alerts: AlertsRepository;

  beforeAll(async () => {
    database = await createTestDatabase('alerts_repo');
    pool = createPool({ databaseUrl: database.url, role: 'web' });
    alerts = new AlertsRepository(pool);
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  async function pipeline(): Promise<string> {
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO pipelines (name, source, signing_secret) VALUES ('p', '{"type":"webhook"}', 'whsec_x') RETURNING id`);
    return rows[0].id;
  }

  const failing: AlertInput = { name: 'Failures', condition: { type: 'failures', seconds: 60 }, channels: [HOOK] };

  async function created(pipelineId: string, input = failing): Promise<string> {
    const row = await alerts.create(pipelineId, input, 'whsec_x', MAX_ALERTS_PER_PIPELINE);
    if (row === null || row === 'full') throw new Error(`could not create: ${row}`);
    return row.id;
  }

  /** Makes the `failures` condition of a pipeline true or false. */
  const setFailing = async (pipelineId: string, on: boolean) =>
    on
      ? pool.query(`INSERT INTO ingest_failures (pipeline_id, event_id, event, reason) VALUES ($1, gen_random_uuid()::text, '{}', 'x')`, [pipelineId])
      : pool.query('DELETE FROM ingest_failures WHERE pipeline_id = $1', [pipelineId]);

  /** One round; the state changes it made to this alert. */
  async function round(alertId: string): Promise<string[]> {
    const changed = await alerts.evaluate(NO_REJECTIONS, DEFAULT_ALERT_LOOKBACK_SECONDS);
    if (changed === null) throw new Error('the round lock was held');
    return changed.filter((row) => row.id === alertId).map((row) => row.state);
  }

  const kinds = async (alertId: string) =>
    (await pool.query<{ kind: string; episode: number }>('SELECT kind, episode FROM alert_notifications WHERE alert_id = $1 ORDER BY id', [alertId])).rows.map((r) => `${r.kind}#${r.episode}`);

  /** Moves the alert's recorded flips `minutes` into the past: the clock of the flap window. */
  const age = (alertId: string, minutes: number) => pool.query(`UPDATE alert_rules SET flips = array(SELECT t - make_interval(mins => $2) FROM unnest(flips) AS t) WHERE id = $1`, [alertId, minutes]);

  it(`keeps ${MAX_ALERTS_PER_PIPELINE} alerts per pipeline however many are created at once`, async () => {
    const id = await pipeline();
    const answers = await Promise.all(Array.from({ length: MAX_ALERTS_PER_PIPELINE + 8 }, (_, i) => alerts.create(id, { ...failing, name: `a${i}` }, null, MAX_ALERTS_PER_PIPELINE)));
    expect(answers.filter((answer) => answer === 'full')).toHaveLength(8);
    expect(await alerts.list(id)).toHaveLength(MAX_ALERTS_PER_PIPELINE);
    // Another pipeline has its own count.
    expect(await alerts.create(await pipeline(), failing, null, MAX_ALERTS_PER_PIPELINE)).toMatchObject({ name: 'Failures' });
  });

  it('answers null for a pipeline that is gone', async () => {
    expect(await alerts.create('6f1c2a7e-4b1d-4c3e-9a55-0d2a8f0e1b12', failing, null, MAX_ALERTS_PER_PIPELINE)).toBeNull();
  });

  it('fires and resolves once each, with one notification per channel', async () => {
    const id = await pipeline();
    const alertId = await created(id, { ...failing, channels: [HOOK, { type: 'email', to: ['ops@example.com'] }] });
    await setFailing(id, true);
    expect(await round(alertId)).toEqual(['firing']);
    expect(await round(alertId)).toEqual([]);
    await setFailing(id, false);
    expect(await round(alertId)).toEqual(['ok']);
    expect(await kinds(alertId)).toEqual(['firing#1', 'firing#1', 'resolved#1', 'resolved#1']);
  });

  it('turns flapping on the 4th flip within 10 minutes: one flapping notification, then quiet; steady 10 minutes, it says its state once', async () => {
    const id = await pipeline();
    const alertId = await created(id);
    for (const [on, state] of [[true, 'firing'], [false, 'ok'], [true, 'firing']] as const) {
      await setFailing(id, on);
      expect(await round(alertId)).toEqual([state]);
    }
    await setFailing(id, false);
    expect(await round(alertId)).toEqual(['flapping']);
    expect((await alerts.find(id, alertId))?.state).toBe('flapping');

    // Flips while flapping change nothing anyone sees, and restart the steady clock.
    await setFailing(id, true);
    expect(await round(alertId)).toEqual([]);
    await age(alertId, 9);
    await setFailing(id, false);
    expect(await round(alertId)).toEqual([]);
    await setFailing(id, true);
    expect(await round(alertId)).toEqual([]);
    await age(alertId, 9);
    expect(await round(alertId)).toEqual([]);
    expect(await kinds(alertId)).toEqual(['firing#1', 'resolved#1', 'firing#2', 'flapping#3']);

    // Ten minutes without a flip: it settles on its condition (firing) and says so once.
    await age(alertId, 2);
    expect(await round(alertId)).toEqual(['firing']);
    expect(await round(alertId)).toEqual([]);
    await setFailing(id, false);
    expect(await round(alertId)).toEqual(['ok']);
    expect(await kinds(alertId)).toEqual(['firing#1', 'resolved#1', 'firing#2', 'flapping#3', 'firing#4', 'resolved#4']);
  });

  it('settles a flapping alert whose condition ended false as resolved', async () => {
    const id = await pipeline();
    const alertId = await created(id);
    for (const on of [true, false, true, false]) {
      await setFailing(id, on);
      await round(alertId);
    }
    expect((await alerts.find(id, alertId))?.state).toBe('flapping');
    await age(alertId, 10);
    expect(await round(alertId)).toEqual(['ok']);
    expect(await kinds(alertId)).toEqual(['firing#1', 'resolved#1', 'firing#2', 'flapping#3', 'resolved#3']);
  });

  it('counts only the flips of the last 10 minutes', async () => {
    const id = await pipeline();
    const alertId = await created(id);
    for (const on of [true, false, true]) {
      await setFailing(id, on);
      await round(alertId);
    }
    await age(alertId, 11);
    await setFailing(id, false);
    expect(await round(alertId)).toEqual(['ok']);
  });

  it('does nothing while another round holds the lock', async () => {
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(hashtext('dash_alert_round'))`);
      expect(await alerts.evaluate(NO_REJECTIONS, DEFAULT_ALERT_LOOKBACK_SECONDS)).toBeNull();
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
  });

  it('hands each notification to the queue once, and records attempts, a failure and a success', async () => {
    const id = await pipeline();
    const alertId = await created(id);
    await setFailing(id, true);
    await round(alertId);
    const ids = await alerts.unqueued(1000);
    expect(ids.length).toBeGreaterThan(0);
    await alerts.markEnqueued(ids);
    expect(await alerts.unqueued(1000)).toEqual([]);
    const [notificationId] = (await pool.query<{ id: string }>('SELECT id FROM alert_notifications WHERE alert_id = $1', [alertId])).rows.map((r) => r.id);
    expect(await alerts.delivery(notificationId)).toMatchObject({ kind: 'firing', status: 'queued', alert_id: alertId, pipeline_id: id, signing_secret: 'whsec_x' });
    await alerts.recordFailedAttempt(notificationId, 'ENOTFOUND', false);
    expect((await alerts.lastNotifications([alertId], 50))[0]).toMatchObject({ status: 'queued', attempts: 1, error: 'ENOTFOUND' });
    await alerts.recordFailedAttempt(notificationId, 'ENOTFOUND', true);
    expect((await alerts.lastNotifications([alertId], 50))[0]).toMatchObject({ status: 'failed', attempts: 2, error: 'ENOTFOUND' });
    // Settled: a late attempt changes nothing.
    await alerts.recordFailedAttempt(notificationId, 'late', false);
    expect((await alerts.lastNotifications([alertId], 50))[0]).toMatchObject({ status: 'failed', attempts: 2 });
  });

  it('changes and deletes an alert of its own pipeline only', async () => {
    const id = await pipeline();
    const other = await pipeline();
    const alertId = await created(id);
    expect(await alerts.update(other, alertId, failing, null)).toBeNull();
    expect(await alerts.update(id, alertId, { ...failing, name: 'Renamed' }, 'whsec_new')).toMatchObject({ name: 'Renamed', signing_secret: 'whsec_x', version: 2 });
    expect(await alerts.delete(other, alertId)).toBe(false);
    expect(await alerts.delete(id, alertId)).toBe(true);
    expect(await alerts.find(id, alertId)).toBeNull();
  });
});
