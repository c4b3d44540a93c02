// End-to-end suites: the web app and the ingestor together, against the real PostgreSQL and Redis.
module.exports = {
  ...require('../jest.preset.js'),
  displayName: 'e2e',
  rootDir: __dirname,
  testTimeout: 120000,
};
