// `npm test` runs every project's suites in one jest run.
module.exports = {
  projects: ['<rootDir>/libs/domain', '<rootDir>/libs/infra', '<rootDir>/apps/web', '<rootDir>/apps/ingestor'],
  reporters: ['default', '<rootDir>/scripts/summary-reporter.js'],
};
