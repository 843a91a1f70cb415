/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false, ignoreCodes: [151002] } }],
  },
  testTimeout: 60000,
  // Integration tests start real processes (registry, CLI); two workers fit the 2-core machines.
  maxWorkers: 2,
};
