/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Transpile only (tsconfig.json has isolatedModules): `npm run typecheck`, which `npm test`
    // runs first, checks the types of src and test in one pass instead of once per worker.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // ES-module-only dependencies, converted for jest on Node 22 (test/support/esm-to-cjs.cjs).
    '/node_modules/@noble/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.cjs',
  },
  transformIgnorePatterns: ['/node_modules/(?!@noble/)'],
  // Each test file gets an empty cache folder (no TUF cache of the machine's user leaks in).
  setupFiles: ['<rootDir>/test/support/jest-setup.ts'],
  testTimeout: 60000,
  // Integration tests start real processes (registry, CLI); two workers fit the 2-core machines.
  maxWorkers: 2,
  // A worker that has finished exits by tearing down its V8 heap page by page (a few hundred
  // MB after a few dozen test files); on a busy 2-core machine that alone takes longer than
  // jest's default 500 ms, and jest then reports "A worker process has failed to exit
  // gracefully" although no handle is open. A real leak still shows after this time.
  workerGracefulExitTimeout: 5000,
};
