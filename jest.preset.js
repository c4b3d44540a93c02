// Shared jest settings: swc for speed (with decorator metadata for Nest DI), UTC clocks,
// and the workspace path aliases (from tsconfig.base.json, via scripts/swc-options.js).
const { options, moduleNameMapper } = require('./scripts/swc-options.js');

process.env.TZ = 'UTC';

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest', { swcrc: false, ...options }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper,
  testMatch: ['**/?(*.)+(spec|integration-spec).ts'],
};
