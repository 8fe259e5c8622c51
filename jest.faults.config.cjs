/**
 * The fault suite (`npm run test:faults`): the built gateway, a private AOF Redis and the sandbox EHR
 * as separate processes, each scenario breaking one of them. Scenarios run one at a time: each kills
 * processes and measures recovery, which a second scenario's load on 2 cores would distort.
 * @type {import('jest').Config}
 */
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
  testMatch: ['<rootDir>/test/faults/**/*.fault.ts'],
  globalSetup: '<rootDir>/test/faults/build.global-setup.ts',
  testTimeout: 180000,
  maxWorkers: 1,
};
