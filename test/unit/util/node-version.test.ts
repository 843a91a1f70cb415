import { SUPPORTED_NODE, unsupportedNode } from '../../../src/util/node-version';

test.each(['22.22.2', '22.23.3', '24.15.0', '24.21.0', '26.0.0', '27.1.0'])('%s is supported', (v) => {
  expect(unsupportedNode(v)).toBeUndefined();
});

test.each(['20.20.2', '18.19.0', '22.22.1', '22.21.0', '23.11.0', '24.14.9', '25.0.0'])('%s is refused, naming what is needed', (v) => {
  expect(unsupportedNode(v)).toBe(`imgverify needs ${SUPPORTED_NODE} (found v${v})`);
});

test('the versions agree with package.json engines', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's own manifest
  const pkg = require('../../../package.json') as { engines: { node: string } };
  expect(pkg.engines.node).toBe('^22.22.2 || ^24.15.0 || >=26.0.0');
});
