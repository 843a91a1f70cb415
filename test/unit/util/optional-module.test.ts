/**
 * Optional dependencies: the list agrees with package.json (optional peers, also devDependencies
 * for the tests); a missing one is reported as DEPENDENCY_MISSING naming it, as Node, Bun and
 * Deno word the loader's error; anything else passes through unchanged.
 */
import { asDependencyMissing, dependencyMissing, missingOptionalPackage, OPTIONAL_PACKAGES } from '../../../src/util/optional-module';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's own manifest
const pkg = require('../../../package.json') as Record<'dependencies' | 'devDependencies' | 'peerDependencies', Record<string, string>> & {
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

function loaderError(message: string, code = 'MODULE_NOT_FOUND'): Error {
  return Object.assign(new Error(message), { code });
}

test('the optional packages are package.json optional peerDependencies with the same ranges, and devDependencies (for the tests)', () => {
  expect(Object.fromEntries(Object.entries(OPTIONAL_PACKAGES).map(([name, p]) => [name, p.range]))).toEqual(pkg.peerDependencies);
  for (const name of Object.keys(OPTIONAL_PACKAGES)) {
    expect(pkg.peerDependenciesMeta[name]).toEqual({ optional: true });
    expect(pkg.devDependencies[name]).toBe(pkg.peerDependencies[name]);
    expect(pkg.dependencies[name]).toBeUndefined();
  }
});

test.each([
  ['Node/Bun/Deno require()', loaderError("Cannot find module 'yaml'\nRequire stack:\n- /app/dist/webhook/index.js"), 'yaml'],
  ['a file of the package', loaderError("Cannot find module '@bufbuild/cel/ext'"), '@bufbuild/cel'],
  ['Node/Bun import()', loaderError("Cannot find package 'tar-stream' imported from /app/dist/webhook/trust-root.js", 'ERR_MODULE_NOT_FOUND'), 'tar-stream'],
  ['Deno import()', loaderError('Import "yaml" not a dependency', 'ERR_MODULE_NOT_FOUND'), 'yaml'],
  [
    'an ES module package (the cluster mode client)',
    loaderError("Cannot find package '@kubernetes/client-node' imported from /app/dist/webhook/kube/client.js", 'ERR_MODULE_NOT_FOUND'),
    '@kubernetes/client-node',
  ],
])('%s: names the package', (_name, err, name) => {
  expect(missingOptionalPackage(err)).toBe(name);
});

test.each([
  ['another package missing (a dependency of the optional one)', loaderError("Cannot find module 'streamx'")],
  ['a package whose name starts like one', loaderError("Cannot find module 'yaml-language-server'")],
  ['an error with another code that names a package', loaderError("Cannot find module 'yaml'", 'ERR_INVALID_ARG_TYPE')],
  ['not an error', "Cannot find module 'yaml'"],
])('%s: not a missing optional package', (_name, err) => {
  expect(missingOptionalPackage(err)).toBeUndefined();
});

test('DEPENDENCY_MISSING says what needs the package and how to install it (usage: exit 2)', () => {
  const error = dependencyMissing('@bufbuild/cel');
  expect(error).toMatchObject({ code: 'DEPENDENCY_MISSING', category: 'usage', details: { package: '@bufbuild/cel', range: '^0.6.1' } });
  expect(error.message).toBe(
    "CEL conditions on attestations needs the package @bufbuild/cel, which is not installed: npm install @bufbuild/cel@'^0.6.1' (an optional peer dependency of imgverify)",
  );
});

test('asDependencyMissing: DEPENDENCY_MISSING (with the cause) when an optional package is missing; any other error unchanged', () => {
  const missing = loaderError("Cannot find module 'yaml'");
  expect(asDependencyMissing(missing)).toMatchObject({ code: 'DEPENDENCY_MISSING', cause: missing });
  const other = new SyntaxError('Unexpected token');
  expect(asDependencyMissing(other)).toBe(other);
  expect(asDependencyMissing('thrown text')).toBe('thrown text');
});

test('a real require of a package that is not installed', () => {
  jest.isolateModules(() => {
    jest.doMock('yaml', () => {
      throw loaderError("Cannot find module 'yaml'");
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the webhook entry's check, with yaml "missing"
    expect(() => require('../../../src/webhook/optional-dependencies')).toThrow(
      expect.objectContaining({ code: 'DEPENDENCY_MISSING', message: expect.stringContaining('needs the package yaml') }),
    );
  });
  jest.dontMock('yaml');
});
