// `npm test` runs the unit tier (`*.spec.ts`: no database, no Redis, seconds) first, then, once both
// apps are built, the integration tier (`*.integration-spec.ts`: real PostgreSQL, Redis, processes,
// browsers); each tier is one jest run over every project. Timeouts are global options (a
// project's own testTimeout only applies when that project runs alone), sized for the
// end-to-end and fault suites; each suite bounds its own waits well below this.
module.exports = {
  projects: ['<rootDir>/libs/domain', '<rootDir>/libs/infra', '<rootDir>/apps/web', '<rootDir>/apps/ingestor', '<rootDir>/e2e'],
  reporters: ['default', '<rootDir>/scripts/summary-reporter.js'],
  testTimeout: 120000,
};
