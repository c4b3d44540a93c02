/**
 * The SQL of one evaluation round, for every alert rule at once: one statement decides which
 * alerts change state (a CTE per condition type, each one set-based), one applies the changes
 * and writes their notifications. Rate windows are counted once per (pipeline, window), however
 * many rules share them.
 */

/**
 * Alerts whose condition disagrees with their state: `(id, to_state)`.
 * $1 / $2: pipelines recently answered 429 and when (from Redis); $3: default lookback (s).
 */
export const ALERT_VERDICTS = `
  WITH rules AS (
    SELECT id, pipeline_id, state, created_at, condition->>'type' AS type,
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
  SELECT v.id, CASE WHEN v.firing THEN 'firing' ELSE 'ok' END AS to_state
  FROM verdicts v JOIN rules r USING (id)
  WHERE v.firing IS NOT NULL AND v.firing <> (r.state = 'firing')`;

/**
 * Applies state changes `unnest($1 ids, $2 states)` conditionally (a rule already in the state is
 * left alone) and, in the same statement, one notification per channel of each change. A firing
 * opens a new episode; its resolution closes the same one. The unique key (alert, episode, kind,
 * channel) makes a repeated transition write nothing.
 */
export const APPLY_TRANSITIONS = `
  WITH changed AS (
    UPDATE alert_rules a
    SET state = c.to_state, since = now(), episode = a.episode + (c.to_state = 'firing')::int, version = a.version + 1
    FROM unnest($1::uuid[], $2::text[]) AS c(id, to_state)
    WHERE a.id = c.id AND a.state <> c.to_state
    RETURNING a.id, a.pipeline_id, a.state, a.since, a.episode, a.channels
  ), notes AS (
    INSERT INTO alert_notifications (alert_id, episode, kind, channel_index, channel, at)
    SELECT ch.id, ch.episode, CASE ch.state WHEN 'firing' THEN 'firing' ELSE 'resolved' END, (x.i - 1)::int, x.channel, ch.since
    FROM changed ch CROSS JOIN LATERAL jsonb_array_elements(ch.channels) WITH ORDINALITY AS x(channel, i)
    ON CONFLICT (alert_id, episode, kind, channel_index) DO NOTHING
  )
  SELECT id, pipeline_id, state, since FROM changed`;

/** Notifications committed but not yet handed to the delivery queue (a crash between the two included). */
export const UNQUEUED_NOTIFICATIONS = `SELECT id FROM alert_notifications WHERE NOT enqueued ORDER BY id LIMIT $1`;
export const MARK_ENQUEUED = `UPDATE alert_notifications SET enqueued = true WHERE id = ANY($1::bigint[])`;
