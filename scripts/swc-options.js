// swc options shared by jest and the build (scripts/swc-build.js). The path aliases come from
// tsconfig.base.json's `paths` alone: the build hands them to swc, jest to its moduleNameMapper.
const path = require('node:path');

const root = path.join(__dirname, '..');
const { paths } = require('../tsconfig.base.json').compilerOptions;

const options = {
  sourceMaps: 'inline',
  module: { type: 'commonjs' },
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    keepClassNames: true,
  },
};

// `@dash/infra/testing` → `<root>/libs/infra/src/testing/index.ts`, anchored so `@dash/infra`
// does not swallow its subpath.
const moduleNameMapper = Object.fromEntries(
  Object.entries(paths).map(([alias, [target]]) => [`^${alias.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, path.join(root, target)]),
);

// The build writes source maps beside the files (node runs with --enable-source-maps) and
// rewrites the aliases to relative imports, as dist/ has no alias resolution at run time.
const build = {
  ...options,
  sourceMaps: true,
  swcrc: false,
  jsc: { ...options.jsc, baseUrl: root, paths },
};

module.exports = { options, build, moduleNameMapper };
