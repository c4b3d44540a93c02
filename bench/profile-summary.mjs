#!/usr/bin/env node
// Summarizes .cpuprofile files (from BENCH_CPU_PROF=dir npm run bench): the functions and the
// packages with the most self time, as a share of the busy (non-idle) samples.
//   node bench/profile-summary.mjs /tmp/prof/*.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
const files = args.filter((arg, i) => !arg.startsWith('--') && (topIndex < 0 || i !== topIndex + 1));
if (files.length === 0) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile>... [--top N]');
  process.exit(1);
}

/** Where a frame's code lives: a package, Dash's own code, Node internals, or a V8 pseudo-frame. */
function ownerOf(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1];
  const own = /\/(dist\/)?(apps|libs)\/([^/]+)/.exec(url);
  if (own) return `dash ${own[2]}/${own[3]}`;
  return url.replace(/^file:\/\//, '');
}

function shortUrl(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const own = /(apps|libs)\/.*$/.exec(url);
  return own ? own[0] : url.replace(/^file:\/\//, '');
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  // Time in Node internals and native code, charged to the nearest caller that is a package or Dash.
  const callerOwner = (id) => {
    for (let current = id; current !== undefined; current = parents.get(current)) {
      const { url, functionName } = nodes.get(current).callFrame;
      const owner = ownerOf(url, functionName || '(anonymous)');
      if (owner !== 'node:internal' && owner !== '(native)' && owner !== '(root)' && owner !== '(anonymous)') return owner;
    }
    return 'node:internal';
  };
  const byCaller = new Map();
  const self = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const micros = timeDeltas[i + 1] ?? timeDeltas[i] ?? 0;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + micros);
  }
  const byFunction = new Map();
  const byOwner = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, micros] of self) {
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const name = functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += micros;
      continue;
    }
    total += micros;
    const key = `${name}  ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    const owner = ownerOf(url, name);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + micros);
    const caller = callerOwner(id);
    byCaller.set(caller, (byCaller.get(caller) ?? 0) + micros);
  }
  const wall = (profile.endTime - profile.startTime) / 1e6;
  const rows = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, micros]) => `  ${(micros / 1000).toFixed(0).padStart(8)} ms ${((micros / total) * 100).toFixed(1).padStart(5)} %  ${key}`)
      .join('\n');
  console.log(`\n== ${basename(file)}: ${wall.toFixed(1)} s profiled, ${(total / 1e6).toFixed(1)} s busy (${((total / 1e6 / wall) * 100).toFixed(0)} % of one core), ${(idle / 1e6).toFixed(1)} s idle`);
  console.log(`-- self time by package / owner\n${rows(byOwner)}`);
  console.log(`-- self time charged to the nearest package / Dash caller (Node internals and native code folded in)\n${rows(byCaller)}`);
  console.log(`-- top ${top} functions by self time\n${rows(byFunction)}`);
}
