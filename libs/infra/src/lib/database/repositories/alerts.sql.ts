/**
 * The SQL of one evaluation round, for every alert rule at once: one statement decides which
 * alerts' conditions changed (a CTE per condition type, each one set-based) and which flapping
 * alerts have settled, one applies the changes and writes their notifications. Rate windows are
 * counted once per (pipeline, window), however many rules share them.
 */

import { FLAP_MAX_FLIPS, FLAP_WINDOW_SECONDS } from '@dash/domain';

/** The parameters of ALERT_VERDICTS: recent 429s by pipeline, the default lookback (s), the flap window. */
export const verdictParams = (rejections: { pipelines: string[]; times: string[] }, lookbackSeconds: number) => [rejections.pipelines, rejections.times, lookbackSeconds, FLAP_WINDOW_SECONDS];
/** The parameters of APPLY_VERDICTS, from ALERT_VERDICTS' rows. */
export const applyParams = (verdicts: ReadonlyArray<{ id: string; met: boolean }>) => [verdicts.map((v) => v.id), verdicts.map((v) => v.met), FLAP_WINDOW_SECONDS, FLAP_MAX_FLIPS];

/**
 * Alerts to apply: `(id, met)`, the condition's verdict, where it differs from the stored one,
 * or where a flapping alert has had no flip for the whole flap window (it settles).
 * $1 / $2: pipelines recently answered 429 and when (from Redis); $3: default lookback (s);
 * $4: the flap window (s).
 */
export const ALERT_VERDICTS = `
  WITH rules AS (
    SELECT id, pipeline_id, state, met, flips, created_at, condition->>'type' AS type,
           coalesce((condition->>'seconds')::int, $3::int) AS seconds,
           (condition->>'perMinute')::float8 AS per_minute
    FROM alert_rules
  ), silence AS (
    -- A rule younger than its window waits for it: a quiet pipeline fires \`seconds\` after the rule appears.
    SELECT r.id, now() - greatest(s.last_event_at, r.created_at) > make_interval(secs => r.seconds) AS firing
    FROM rules r LEFT JOIN pipeline_stats s USING (pipeline_id)
    WHERE r.type = 'silence'
  ), windows AS (
    SELECT DISTINCT pipeline_id, seconds FROM rules WHERE type IN ('rate_above', 'rate_below')
  ), rates AS (
    -- By event time, through the (pipeline_id, occurred_at) index: one range count per window.
    SELECT w.pipeline_id, w.seconds, c.n * 60.0 / w.seconds AS per_minute
    FROM windows w CROSS JOIN LATERAL (
      SELECT count(*) AS n FROM events e
      WHERE e.pipeline_id = w.pipeline_id AND e.occurred_at > now() - make_interval(secs => w.seconds) AND e.occurred_at <= now()
    ) c
  ), rate AS (
    SELECT r.id,
      CASE WHEN r.type = 'rate_above' THEN x.per_minute > r.per_minute
           -- Too young to have seen a whole window: a new rule would fire on a pipeline it just started watching.
           WHEN now() - r.created_at < make_interval(secs => r.seconds) THEN NULL
           ELSE x.per_minute < r.per_minute END AS firing
    FROM rules r JOIN rates x USING (pipeline_id, seconds)
    WHERE r.type IN ('rate_above', 'rate_below')
  ), failures AS (
    SELECT r.id, EXISTS (
      SELECT 1 FROM ingest_failures f WHERE f.pipeline_id = r.pipeline_id AND f.created_at > now() - make_interval(secs => r.seconds)
    ) AS firing
    FROM rules r WHERE r.type = 'failures'
  ), backlog AS (
    SELECT r.id, coalesce(b.at > now() - make_interval(secs => r.seconds), false) AS firing
    FROM rules r LEFT JOIN unnest($1::uuid[], $2::timestamptz[]) AS b(pipeline_id, at) USING (pipeline_id)
    WHERE r.type = 'backlog_full'
  ), verdicts AS (
    SELECT * FROM silence UNION ALL SELECT * FROM rate UNION ALL SELECT * FROM failures UNION ALL SELECT * FROM backlog
  )
  SELECT r.id, coalesce(v.firing, r.met) AS met
  FROM rules r LEFT JOIN verdicts v USING (id)
  WHERE (v.firing IS NOT NULL AND v.firing <> r.met)
     OR (r.state = 'flapping' AND NOT EXISTS (SELECT 1 FROM unnest(r.flips) AS t WHERE t > now() - make_interval(secs => $4::int)))`;

/**
 * Applies verdicts `unnest($1 ids, $2 met)` and, in the same statement, one notification per
 * channel of each state change. A changed verdict is a flip: flips older than the flap window
 * ($3 s) are dropped, and an alert with more than $4 left becomes `flapping` (one `flapping`
 * notification) and stays so, quiet, until a round finds no flip left in the window; it then
 * takes its condition's state and says so once (`firing`, or `resolved`).
 * A firing or flapping opens a new episode; `resolved` closes the current one. The unique key
 * (alert, episode, kind, channel) makes a repeated transition write nothing.
 */
export const APPLY_VERDICTS = `
  WITH input AS (
    SELECT a.id, c.met, a.state AS old_state,
      array(SELECT t FROM unnest(a.flips) AS t WHERE t > now() - make_interval(secs => $3::int) ORDER BY t)
        || CASE WHEN c.met <> a.met THEN ARRAY[now()] ELSE '{}'::timestamptz[] END AS flips
    FROM unnest($1::uuid[], $2::boolean[]) AS c(id, met) JOIN alert_rules a ON a.id = c.id
  ), decided AS (
    SELECT id, met, flips, old_state,
      CASE WHEN old_state = 'flapping' AND cardinality(flips) > 0 THEN 'flapping'
           WHEN old_state <> 'flapping' AND cardinality(flips) > $4::int THEN 'flapping'
           WHEN met THEN 'firing'
           ELSE 'ok' END AS new_state
    FROM input
  ), changed AS (
    UPDATE alert_rules a
    SET met = d.met, flips = d.flips, state = d.new_state,
        since = CASE WHEN d.new_state <> a.state THEN now() ELSE a.since END,
        episode = a.episode + (d.new_state <> a.state AND d.new_state <> 'ok')::int,
        version = a.version + (d.new_state <> a.state)::int
    FROM decided d
    WHERE a.id = d.id
    RETURNING a.id, a.pipeline_id, a.state, a.since, a.episode, a.channels, d.old_state
  ), notes AS (
    INSERT INTO alert_notifications (alert_id, episode, kind, channel_index, channel, at)
    SELECT ch.id, ch.episode, CASE ch.state WHEN 'ok' THEN 'resolved' ELSE ch.state END, (x.i - 1)::int, x.channel, ch.since
    FROM changed ch CROSS JOIN LATERAL jsonb_array_elements(ch.channels) WITH ORDINALITY AS x(channel, i)
    WHERE ch.state <> ch.old_state
    ON CONFLICT (alert_id, episode, kind, channel_index) DO NOTHING
  )
  SELECT id, pipeline_id, state, since FROM changed WHERE state <> old_state`;

/** Notifications committed but not yet handed to the delivery queue (a crash between the two included). */
export const UNQUEUED_NOTIFICATIONS = `SELECT id FROM alert_notifications WHERE NOT enqueued ORDER BY id LIMIT $1`;
export const MARK_ENQUEUED = `UPDATE alert_notifications SET enqueued = true WHERE id = ANY($1::bigint[])`;
