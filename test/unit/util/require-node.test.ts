/** The load-time gate: a refusal throws, an untested version warns once, Bun and Deno are left to the runtime self-test. */
type NodeVersion = typeof import('../../../src/util/node-version');

function load(versions: Partial<NodeVersion>): jest.SpyInstance {
  const warnings = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  jest.isolateModules(() => {
    jest.doMock('../../../src/util/node-version', () => ({ ...jest.requireActual<NodeVersion>('../../../src/util/node-version'), ...versions }));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the gate runs when loaded
    require('../../../src/util/require-node');
  });
  return warnings;
}

afterEach(() => {
  jest.dontMock('../../../src/util/node-version');
  jest.restoreAllMocks();
});

test('a version below the floor: loading throws the message', () => {
  expect(() => load({ isNode: () => true, unsupportedNode: () => 'imgverify needs Node.js 22.19.0 or later (found v20.0.0)' })).toThrow(
    'imgverify needs Node.js 22.19.0 or later (found v20.0.0)',
  );
});

test('an untested version: loading warns once (ImgverifyWarning IMGVERIFY_UNTESTED_NODE) and goes on', () => {
  const warnings = load({ isNode: () => true, unsupportedNode: () => undefined, untestedNode: () => 'untested' });
  expect(warnings.mock.calls).toEqual([['untested', { type: 'ImgverifyWarning', code: 'IMGVERIFY_UNTESTED_NODE' }]]);
});

test('this Node.js: neither', () => {
  expect(load({}).mock.calls).toEqual([]);
});

test('Bun or Deno: neither check applies', () => {
  const warnings = load({ isNode: () => false, unsupportedNode: () => 'refused', untestedNode: () => 'untested' });
  expect(warnings.mock.calls).toEqual([]);
});
