// What the bench's build-against-build tools (web-alone, web-instructions) share: builds in
// alternating order, a pipeline made through the API, and the cleanup of their databases and keys.
import pg from 'pg';
import { Redis } from 'ioredis';

/** The builds of each round, alternating (ABBA…), so that drift of the host falls on both sides alike. */
export function* alternating(dists, rounds) {
  for (let round = 0; round < rounds; round++) for (const dist of round % 2 ? [...dists].reverse() : dists) yield { round, dist };
}

/** A webhook pipeline made through a running web's API: its id and signing secret. */
export async function createWebhookPipeline(port, token, name) {
  const response = await fetch(`http://127.0.0.1:${port}/api/pipelines`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, source: { type: 'webhook' } }),
  });
  if (response.status !== 201) throw new Error(`POST /api/pipelines: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Drops the databases and deletes every Redis key under their names (each name is also a key prefix). */
export async function dropBenchData(adminUrl, redisUrl, names) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (const name of names) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
  const redis = new Redis(redisUrl);
  for (const name of names) {
    const keys = await redis.keys(`${name}*`);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  }
  redis.disconnect();
}

/** Prints each build's lines, grouped. */
export function printByBuild(results) {
  for (const [dist, lines] of Object.entries(results)) console.log(`${dist}\n  ${lines.join('\n  ')}`);
}
