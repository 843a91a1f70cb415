import { isNode, MINIMUM_NODE, unsupportedNode, untestedNode } from '../../../src/util/node-version';

test.each(['22.22.2', '22.23.3', '24.15.0', '24.21.0', '26.0.0', '27.1.0'])('%s runs and is tested: no refusal, no warning', (v) => {
  expect(unsupportedNode(v)).toBeUndefined();
  expect(untestedNode(v)).toBeUndefined();
});

test.each(['22.19.0', '22.21.0', '22.22.1', '23.11.0', '24.0.0', '24.14.9', '25.0.0'])(
  "%s runs (at or above undici's floor): a warning, not a refusal",
  (v) => {
    expect(unsupportedNode(v)).toBeUndefined();
    expect(untestedNode(v)).toBe(
      `imgverify is tested on Node.js 22.22+, 24.15+ or 26+ (found v${v}): it runs, but this version is not tested and its @sigstore dependencies do not declare it`,
    );
  },
);

test.each(['20.20.2', '18.19.0', '22.18.9', '22.0.0', '21.7.3'])("%s is below undici's floor: refused, naming what is needed", (v) => {
  expect(unsupportedNode(v)).toBe(`imgverify needs Node.js 22.19.0 or later (found v${v}): the oldest version undici, its HTTP client, supports`);
  expect(untestedNode(v)).toBeUndefined();
});

test("the floor is undici's own, and package.json's engines", () => {
  /* eslint-disable @typescript-eslint/no-require-imports -- the package manifests */
  const pkg = require('../../../package.json') as { engines: { node: string } };
  const undici = require('undici/package.json') as { engines: { node: string } };
  /* eslint-enable @typescript-eslint/no-require-imports */
  expect(undici.engines.node).toBe(`>=${MINIMUM_NODE}`);
  expect(pkg.engines.node).toBe(`>=${MINIMUM_NODE}`);
});

test('Bun and Deno are not Node.js (their process.versions.node is the API they emulate)', () => {
  expect(isNode({ ...process.versions })).toBe(true);
  expect(isNode({ ...process.versions, bun: '1.3.0' })).toBe(false);
  expect(isNode({ ...process.versions, deno: '2.5.0' })).toBe(false);
});
