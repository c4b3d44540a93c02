// Shared jest settings: swc for speed (with decorator metadata for Nest DI), UTC clocks,
// and the workspace path aliases.
const path = require('node:path');

process.env.TZ = 'UTC';

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest', { swcrc: false, ...require('./scripts/swc-options.js') }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    '^@dash/domain$': path.join(__dirname, 'libs/domain/src/index.ts'),
    '^@dash/infra$': path.join(__dirname, 'libs/infra/src/index.ts'),
    '^@dash/infra/testing$': path.join(__dirname, 'libs/infra/src/testing/index.ts'),
  },
  testMatch: ['**/?(*.)+(spec|integration-spec).ts'],
};
