#!/usr/bin/env node
// The one place each app's node flags are written. Everything that starts an app uses it:
// `npm start` and `start:*`, the Nx serve targets, the Dockerfile, Fly ([processes] and
// release_command), docker compose, the e2e suites and the bench.
//
//   node scripts/launch.js web|ingestor|migrate [app args...]
//
// Where Node has process.execve (22.15+, the image's Node), the app replaces this process: same
// pid, signals straight to it, no second runtime in memory. Elsewhere (Node 20) it runs the app
// as a child and forwards signals and the exit status.
'use strict';
const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');

/** Per app: its entry point (built) and the node flags it is deployed with. */
const APPS = {
  web: { main: 'dist/apps/web/src/main.js', flags: ['--enable-source-maps'] },
  // The ingestor streams: a 4 MB young generation keeps its memory low without costing throughput.
  ingestor: { main: 'dist/apps/ingestor/src/main.js', flags: ['--enable-source-maps', '--max-semi-space-size=4'] },
  // Once per release, before the nodes start (DASH_MIGRATE).
  migrate: { main: 'dist/apps/web/src/migrate.js', flags: ['--enable-source-maps'] },
};

/** The node flags of an app. */
function nodeFlags(app) {
  const spec = APPS[app];
  if (!spec) throw new Error(`unknown app "${app}": expected one of ${Object.keys(APPS).join(', ')}`);
  return [...spec.flags];
}

/** The absolute path of an app's built entry point. */
function mainOf(app) {
  nodeFlags(app);
  return join(ROOT, APPS[app].main);
}

/** The arguments after `node` that start an app: its flags, then its entry point. */
function nodeArgs(app) {
  return [...nodeFlags(app), mainOf(app)];
}

function launch(app, extra) {
  const args = [...nodeArgs(app), ...extra];
  if (typeof process.execve === 'function') {
    process.execve(process.execPath, [process.execPath, ...args], process.env);
    return;
  }
  const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: ROOT });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    // A child ended by a signal exits as a shell reports it (128 + its number).
    process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
  });
}

module.exports = { APPS, nodeFlags, nodeArgs, mainOf };

if (require.main === module) {
  const [app, ...extra] = process.argv.slice(2);
  if (!app || !APPS[app]) {
    process.stderr.write(`usage: node scripts/launch.js <${Object.keys(APPS).join('|')}> [args...]\n`);
    process.exit(2);
  }
  launch(app, extra);
}
