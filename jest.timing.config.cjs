/**
 * Timing proofs (`npm test` runs them after the rest): a difference of medians measured while the
 * rest of the suite loads both cores is noise, so these run alone, one at a time.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/timing/**/*.timing.ts'],
  testTimeout: 180000,
  maxWorkers: 1,
};
