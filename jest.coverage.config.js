// `npm run coverage`: the unit tests (test/unit) with coverage of src/, and a floor per folder
// that CI holds (.ci/run). The floors are the figures measured when they were last raised
// (statements, branches, functions, lines; first set on 2026-12-07, the lower of two runs) less
// half a point, rounded down (a figure of 100 stays 100): paths that depend on timing (retries,
// timeouts) vary between runs by up to about 0.4 points. A change that leaves a folder less
// tested fails; one that tests more raises them (`npm run coverage` prints the figures; write
// the new ones here).
const base = require('./jest.config');

/** [statements, branches, functions, lines] → jest's threshold object. */
const floor = ([statements, branches, functions, lines]) => ({ statements, branches, functions, lines });

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/unit'],
  collectCoverage: true,
  collectCoverageFrom: ['src/**/*.ts'],
  coverageReporters: ['text-summary', ['text', { skipFull: true }], 'json-summary'],
  coverageThreshold: {
    // The files at the top of src/ (index.ts, lazy-exports.ts, errors.ts, reference.ts): jest's
    // "global" is what no path below names. A folder's floor counts its subfolders too.
    global: floor([93, 95, 59, 93]),
    './src/attestation/': floor([94, 90, 100, 97]),
    './src/bundle/': floor([95, 90, 100, 97]),
    './src/cli/': floor([55, 39, 51, 59]),
    './src/cli/commands/': floor([42, 26, 31, 49]),
    './src/cosign/': floor([97, 94, 100, 98]),
    './src/net/': floor([83, 64, 88, 85]), // lines 85 since Prettier joined lines of web-client.ts (85.71%)
    './src/policy/': floor([92, 85, 96, 94]),
    './src/registry/': floor([70, 59, 68, 72]),
    './src/registry/auth/': floor([71, 63, 67, 74]),
    './src/registry/transport/': floor([69, 58, 70, 72]),
    './src/rekor/': floor([60, 59, 24, 64]),
    './src/release/': floor([35, 8, 18, 39]),
    './src/sbom/': floor([96, 94, 100, 98]),
    './src/trust/': floor([71, 60, 77, 73]),
    './src/util/': floor([89, 85, 91, 92]),
    './src/verify/': floor([82, 70, 84, 85]),
    './src/verify/adapters/': floor([61, 37, 60, 69]),
    './src/verify/image-signatures.ts': floor([98, 92, 100, 100]),
    './src/webhook/': floor([75, 70, 65, 76]),
    './src/webhook/kube/': floor([38, 29, 31, 41]),
  },
};
