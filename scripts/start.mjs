#!/usr/bin/env node
// `npm start`: builds both apps and runs the web app and the ingestor on this machine, against
// PostgreSQL and Redis at their default URLs (or DATABASE_URL / REDIS_URL). The database is
// created and migrated by the apps themselves. Prints the dashboard URL, and the admin token
// only when it was generated here: a token given in DASH_ADMIN_TOKEN is never printed.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeArgs } from './launch.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = process.env.PORT ?? '3000';

// `--no-build` runs what dist/ holds (tests use it: a rebuild would rewrite dist/ under suites running beside).
if (!process.argv.includes('--no-build')) {
  const build = spawnSync(process.execPath, [join(root, 'node_modules/nx/dist/bin/nx.js'), 'run-many', '-t', 'build', '--projects=web,ingestor', '--outputStyle=static'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const tokenGiven = Boolean(process.env.DASH_ADMIN_TOKEN);
if (!tokenGiven && process.env.NODE_ENV === 'production') {
  console.error('DASH_ADMIN_TOKEN is required when NODE_ENV=production');
  process.exit(1);
}
// One token for both processes, so the one printed here is the one that works.
const adminToken = process.env.DASH_ADMIN_TOKEN || `dash_admin_${randomBytes(24).toString('base64url')}`;
// npm start migrates at boot, even with NODE_ENV=production (a deployment runs `migrate` per release instead).
const env = { ...process.env, DASH_ADMIN_TOKEN: adminToken, PORT: port, DASH_MIGRATE: process.env.DASH_MIGRATE || 'boot' };

const children = new Set();
let stopping = false;

function run(app) {
  // Each app with its node flags from scripts/launch.js (the one place they are written).
  const child = spawn(process.execPath, nodeArgs(app), { cwd: root, env: { ...env, APP_ROLE: app }, stdio: 'inherit' });
  children.add(child);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!stopping) {
      console.error(`${app} exited (${signal ?? code}); stopping the others`);
      stop(code || 1);
    } else if (children.size === 0) process.exit(0);
  });
  return child;
}

function stop(code = 0) {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  if (children.size === 0) process.exit(code);
  setTimeout(() => process.exit(code), 30_000).unref();
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

async function waitForHealth(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

/**
 * Whether an ingestor started at or after `since` beats in the cluster list (GET /api/cluster,
 * admin): the heartbeat starts with its workers, so an event sent from then on is stored at once.
 * Through the web app's port: no other port is opened for it.
 */
async function waitForIngestor(base, since, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${base}/api/cluster`, { headers: { authorization: `Bearer ${adminToken}` } });
      const { nodes = [] } = response.ok ? await response.json() : {};
      if (nodes.some((node) => node.role === 'ingestor' && Date.parse(node.startedAt) >= since)) return true;
    } catch {
      // the web app restarting, or Redis away: ask again
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

// The web app first: it creates and migrates the database; then the ingestor.
run('web');
if (!(await waitForHealth(`http://127.0.0.1:${port}/health`, 60_000))) {
  console.error(`the web app did not answer on port ${port} within 60 s`);
  stop(1);
} else {
  // Only this ingestor counts: one of a previous run may still be listed for 15 s.
  const spawnedAt = Date.now();
  run('ingestor');
  // The banner waits for the ingestor, so what it invites (sending a webhook) is stored at once.
  const ready = await waitForIngestor(`http://127.0.0.1:${port}`, spawnedAt, 60_000);
  // The ingestor exiting meanwhile stops everything (run's exit handler): no banner then.
  if (!stopping) {
    if (!ready) console.warn('warning: the ingestor has not reported in within 60 s; webhooks are queued and stored once it runs (see its log above)');
    const base = `http://localhost:${port}`;
    // A line to paste into another shell, for the README's quick start. A generated token is
    // base64url, so it needs no quoting; a supplied one is referred to, never printed.
    const exportLine = `export DASH=${base} DASH_TOKEN=${tokenGiven ? '"$DASH_ADMIN_TOKEN"' : adminToken}`;
    console.log(`
  Dash is running.
    Dashboard:   ${tokenGiven ? `${base}/  (sign in with the token in DASH_ADMIN_TOKEN)` : `${base}/?token=${encodeURIComponent(adminToken)}`}
    Webhooks:    POST ${base}/webhooks/<pipelineId>
    Admin token: ${tokenGiven ? 'from DASH_ADMIN_TOKEN' : `${adminToken}  (generated for this run; set DASH_ADMIN_TOKEN to keep one)`}
    For a shell: ${exportLine}
`);
  }
}
