#!/usr/bin/env node
// The cost of one alert evaluation round at scale: 5,000 alert rules over 500 pipelines (every
// condition type), evaluated with AlertsRepository's own SQL (dist/libs/infra/src/lib/database/
// repositories/alerts.sql.js) in its own throwaway database. Reports ms per round and statements per
// round; the rounds run the same statements as AlertEvaluator.round (lock, verdicts, transitions
// with their notifications and flapping, the enqueue sweep), without the Redis queue.
//
//   node bench/alerts.mjs [--smoke]       alone (needs a build: npx nx run-many -t build ...)
//   BENCH_ONLY=alerts npm run bench       as a row group of the bench table (bench/run.mjs)
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const TYPES = ['silence', 'rate_above', 'rate_below', 'failures', 'backlog_full'];

function conditionFor(i) {
  const type = TYPES[i % TYPES.length];
  const seconds = [60, 300, 600, 3600][Math.floor(i / TYPES.length) % 4];
  if (type === 'silence') return { type, seconds };
  if (type === 'rate_above' || type === 'rate_below') return { type, perMinute: 1 + (i % 7), seconds };
  return { type, seconds };
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null;
}

/**
 * Runs the scenario; resolves with `{pipelines, rules, rounds, firstRoundMs, transitionsFirstRound,
 * msPerRound: {p50, p95, max}, statementsPerRound}`.
 */
export async function alertsBench({ pgAdminUrl = 'postgres://postgres@127.0.0.1:5432/postgres', dist = join(root, 'dist'), pipelines = 500, rulesPerPipeline = 10, rounds = 20, log = () => undefined } = {}) {
  const infra = require(join(dist, 'libs/infra/src/index.js'));
  const sql = require(join(dist, 'libs/infra/src/lib/database/repositories/alerts.sql.js'));
  const name = `dash_bench_alerts_${randomBytes(4).toString('hex')}`;
  const databaseUrl = Object.assign(new URL(pgAdminUrl), { pathname: `/${name}` }).toString();
  await infra.ensureDatabase(databaseUrl);
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    const source = infra.createDataSource({ databaseUrl, storageMode: 'native' });
    await source.initialize();
    await infra.migrate(source);
    await source.destroy();
    await client.connect();

    log(`alerts: seeding ${pipelines} pipelines, ${pipelines * rulesPerPipeline} rules`);
    // Pipelines with a spread of last events, some events in the last hour, a few failures.
    await client.query(
      `INSERT INTO pipelines (name, source, signing_secret) SELECT 'p' || g, '{"type":"webhook"}', 'whsec_x' FROM generate_series(1, $1) g`,
      [pipelines],
    );
    await client.query(`INSERT INTO pipeline_stats (pipeline_id, count, version, last_event_at)
      SELECT id, 100, 1, now() - (random() * interval '20 minutes') FROM pipelines`);
    await client.query(`INSERT INTO events (pipeline_id, event_id, type, occurred_at, received_at, payload)
      SELECT p.id, 'e' || g, 'x', now() - (random() * interval '1 hour'), now(), '{}' FROM pipelines p, generate_series(1, 40) g`);
    await client.query(`INSERT INTO ingest_failures (pipeline_id, event_id, event, reason)
      SELECT id, 'f1', '{}', 'bench' FROM pipelines ORDER BY id LIMIT $1`, [Math.ceil(pipelines / 10)]);
    const conditions = Array.from({ length: rulesPerPipeline }, (_, i) => JSON.stringify(conditionFor(i)));
    await client.query(
      `INSERT INTO alert_rules (pipeline_id, name, condition, channels, signing_secret, created_at)
       SELECT p.id, 'rule ' || c.i, c.condition::jsonb, '[{"type":"webhook","url":"https://example.invalid/hook"}]', 'whsec_x', now() - interval '2 hours'
       FROM pipelines p, unnest($1::text[]) WITH ORDINALITY AS c(condition, i)`,
      [conditions],
    );
    await client.query('ANALYZE');
    const { rows: ids } = await client.query('SELECT id FROM pipelines ORDER BY id LIMIT $1', [Math.ceil(pipelines / 20)]);
    const rejected = ids.map((row) => row.id);
    const rejectedAt = rejected.map(() => new Date().toISOString());

    let statements = 0;
    const query = (text, params) => {
      statements += 1;
      return client.query(text, params);
    };
    async function round() {
      await query('BEGIN');
      await query(`SELECT pg_try_advisory_xact_lock(hashtext('dash_alert_round')) AS locked`);
      const { rows: verdicts } = await query(sql.ALERT_VERDICTS, sql.verdictParams({ pipelines: rejected, times: rejectedAt }, 60));
      let transitions = 0;
      if (verdicts.length) transitions = (await query(sql.APPLY_VERDICTS, sql.applyParams(verdicts))).rowCount;
      await query('COMMIT');
      const { rows: unqueued } = await query(sql.UNQUEUED_NOTIFICATIONS, [100_000]);
      if (unqueued.length) await query(sql.MARK_ENQUEUED, [unqueued.map((row) => row.id)]);
      return transitions;
    }

    let started = performance.now();
    const transitionsFirstRound = await round();
    const firstRoundMs = performance.now() - started;
    const times = [];
    statements = 0;
    for (let i = 0; i < rounds; i++) {
      started = performance.now();
      await round();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const result = {
      pipelines,
      rules: pipelines * rulesPerPipeline,
      rounds,
      firstRoundMs,
      transitionsFirstRound,
      msPerRound: { p50: percentile(times, 50), p95: percentile(times, 95), max: times.at(-1) ?? null },
      statementsPerRound: statements / rounds,
    };
    log(`alerts: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await client.end().catch(() => undefined);
    const admin = new pg.Client({ connectionString: pgAdminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

/** Rows for bench/run.mjs's table, built with its `figure(id, label, unit, value, baseline, baselineLabel, target, check)`. */
export function alertsFigures(result, figure) {
  return [
    figure('alerts.roundMs.p50', `Alert round, ${result.rules} rules / ${result.pipelines} pipelines, p50`, 'ms', result.msPerRound.p50, null, null, '≤ 1000 ms', (v) => v !== null && v <= 1000),
    figure('alerts.roundMs.p95', 'Alert round p95', 'ms', result.msPerRound.p95, null, null, null),
    figure('alerts.firstRoundMs', `Alert round with ${result.transitionsFirstRound} transitions (notifications written)`, 'ms', result.firstRoundMs, null, null, '≤ 5000 ms', (v) => v !== null && v <= 5000),
    figure('alerts.statementsPerRound', 'Alert round: SQL statements (any number of rules)', 'count', result.statementsPerRound, null, null, null),
  ];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const smoke = process.argv.includes('--smoke');
  alertsBench({ rounds: smoke ? 3 : 20, pgAdminUrl: process.env.BENCH_PG_ADMIN_URL ?? undefined, log: (m) => process.stderr.write(`[bench] ${m}\n`) }).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      process.exit(0);
    },
    (error) => {
      process.stderr.write(`${error.stack ?? error.message}\n`);
      process.exit(1);
    },
  );
}
