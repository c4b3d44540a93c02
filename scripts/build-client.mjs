#!/usr/bin/env node
// Bundles the dashboard (apps/web/client) with esbuild into dist/apps/web/public: hashed assets
// under assets/ and the HTML shell index.html that names them. Run by `nx build web`.
import { build } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const client = join(root, 'apps/web/client');
const out = join(root, 'dist/apps/web/public');

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: { app: join(client, 'main.ts'), style: join(client, 'styles.css') },
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'esm',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
const script = outputs.find((file) => /^app-.*\.js$/.test(file));
const style = outputs.find((file) => /^style-.*\.css$/.test(file));
if (!script || !style) throw new Error(`client build produced ${outputs.join(', ')}`);

const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#4f46e5"/><path d="M7 20h4l3-9 4 13 3-8h4" fill="none" stroke="#fff" stroke-width="2.6" stroke-linecap="round" stroke-linejoin="round"/></svg>`;
await writeFile(join(out, 'assets', 'favicon.svg'), favicon);

await writeFile(
  join(out, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light dark">
<title>Dash</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/${style}">
<script type="module" src="/assets/${script}"></script>
</head>
<body>
<div id="app"><noscript>Dash needs JavaScript to show live figures.</noscript></div>
</body>
</html>
`,
);
console.log(`client built: ${script}, ${style}`);
