/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // jose ships only ES modules, which jest's loader cannot require on Node before 24.9: compile them.
    '/node_modules/jose/.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, isolatedModules: true, module: 'commonjs', target: 'ES2022' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
  // Integration and e2e tests share one machine's Redis and CPU; two workers keep them honest on 2 cores.
  maxWorkers: 2,
  // Each test file loads the gateway's modules afresh and some stay reachable after it (a worker's
  // heap reached 4 GB over the suite): a worker past this much heap after a file is replaced, so
  // no in-process gateway runs inside multi-second garbage collections.
  workerIdleMemoryLimit: '1GB',
};
