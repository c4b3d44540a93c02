// `npm test` runs every project's suites in one jest run.
module.exports = {
  projects: ['<rootDir>/libs/domain', '<rootDir>/libs/infra', '<rootDir>/apps/web', '<rootDir>/apps/ingestor', '<rootDir>/e2e'],
  reporters: ['default', '<rootDir>/scripts/summary-reporter.js'],
};
