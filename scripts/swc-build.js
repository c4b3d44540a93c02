#!/usr/bin/env node
// Compiles one project's sources into dist/ (`node scripts/swc-build.js <dir> [ignored globs…]`)
// with the options jest uses too, so the path aliases are read from tsconfig.base.json alone
// instead of being repeated in an .swcrc.
const { swcDir } = require('@swc/cli');
const { build } = require('./swc-options.js');

const [source, ...ignore] = process.argv.slice(2);
if (!source) throw new Error('usage: swc-build.js <dir> [ignored globs…]');

swcDir({
  cliOptions: {
    filenames: [source],
    outDir: 'dist',
    extensions: ['.ts'],
    ignore: ['**/*.spec.ts', '**/*.integration-spec.ts', ...ignore],
    only: [],
    stripLeadingPaths: false,
    sync: false,
    watch: false,
    copyFiles: false,
    includeDotfiles: false,
    deleteDirOnStart: false,
    quiet: true,
  },
  swcOptions: build,
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
