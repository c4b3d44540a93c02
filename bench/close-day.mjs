#!/usr/bin/env node
// Closing a day of the dimension rollups (issue 24, docs/storage.md): how long the ingestors'
// upkeep takes to make a day's rows (from its 6-hour blocks, made from its hours, where the build
// has blocks; else from its hours) for the worst pipeline (every one of 9
// dimensions with 1,000 values in every hour: 216,000 hour rows), and how long a batch waits for
// the pipeline's row meanwhile (a probe takes it FOR SHARE every 5 ms, as each batch does).
//   node bench/close-day.mjs <dist dir> <database url of a migrated Dash database>
// Seeds the hour rows directly, closes the day with DimensionsRepository.compactRollups, prints
// JSON, and deletes its pipeline.
import pg from 'pg';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const { DimensionsRepository } = require(resolve(process.argv[2], 'libs/infra/src/lib/database/repositories/dimensions.repository.js'));
const url = process.argv[3];
const pool = new pg.Pool({ connectionString: url, max: 2 });
const DAY_MS = 86_400_000;
const day = Math.floor(Date.now() / DAY_MS) * DAY_MS - 30 * DAY_MS;

const { rows: [{ id }] } = await pool.query(
  `INSERT INTO pipelines (name, source, signing_secret, dimensions, measures) VALUES ('close-day bench', '{"type":"webhook"}', 'whsec_unused', '{a,b,c,d,e,f,g,h}', '{m1,m2}') RETURNING id`,
);
try {
  const blocks = (await pool.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'pipelines' AND column_name = 'rollups_closed_before'`)).rows.length > 0;
  await pool.query(`UPDATE pipelines SET ${blocks ? 'rollups_closed_before' : 'day_rollups_before'} = $2 WHERE id = $1`, [id, new Date(day)]);
  await pool.query(
    `INSERT INTO dimension_rollup_1h (pipeline_id, dimension, bucket, value, count, measures, measure_counts, sums, mins, maxes, skipped)
     SELECT $1, d, $2::timestamptz + h * interval '1 hour', 'v' || v, 14, '{m1,m2}', '{14,13}', ARRAY[(v * 1.5)::numeric, 7.25], '{0.5,1}', '{99.5,3}', '{0,1}'
     FROM unnest('{type,a,b,c,d,e,f,g,h}'::text[]) d, generate_series(0, 23) h, generate_series(1, 1000) v`,
    [id, new Date(day)],
  );
  await pool.query('VACUUM ANALYZE dimension_rollup_1h');

  const probe = new pg.Client({ connectionString: url });
  await probe.connect();
  let closing = true;
  let longestWaitMs = 0;
  const probing = (async () => {
    while (closing) {
      const start = process.hrtime.bigint();
      await probe.query('BEGIN');
      await probe.query('SELECT 1 FROM pipelines WHERE id = $1 FOR SHARE', [id]);
      await probe.query('COMMIT');
      longestWaitMs = Math.max(longestWaitMs, Number(process.hrtime.bigint() - start) / 1e6);
      await sleep(5);
    }
  })();
  const start = process.hrtime.bigint();
  const repository = new DimensionsRepository(pool);
  const closed = await (blocks ? repository.compactRollups(new Date(day + DAY_MS)) : repository.compactDays(new Date(day + DAY_MS)));
  const closeMs = Number(process.hrtime.bigint() - start) / 1e6;
  closing = false;
  await probing;
  await probe.end();
  const { rows: [{ n }] } = await pool.query('SELECT count(*)::int AS n FROM dimension_rollup_1d WHERE pipeline_id = $1', [id]);
  console.log(JSON.stringify({ hourRows: 216_000, closed: blocks ? `${closed} blocks` : `${closed} days`, dayRows: n, closeMs: Math.round(closeMs), longestRowWaitMs: Math.round(longestWaitMs) }));
} finally {
  await pool.query('DELETE FROM pipelines WHERE id = $1', [id]);
  await pool.end();
}
