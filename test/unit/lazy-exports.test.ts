/**
 * The root entry's lazily loaded functions (src/lazy-exports.ts): generated from the functions'
 * own declarations by scripts/lazy-exports.cjs, never edited by hand (the committed file is
 * what the script generates); importing imgverify loads none of their modules; each wrapper
 * loads its module on first call and passes every argument through, an omitted one as undefined
 * (so the function's own default applies).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const LAZY_MODULES = [
  'net/read',
  'registry/auth/credentials',
  'registry/auth/credential-provider',
  'registry/auth/keyring',
  'registry/options',
  'release/kubernetes-artifacts',
  'release/fetch-sbom',
  'release/verify-sbom',
  'sbom',
  'trust/describe',
  'trust/from-keys',
];

test('src/lazy-exports.ts is what scripts/lazy-exports.cjs generates', () => {
  expect(() =>
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'lazy-exports.cjs'), '--check'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' }),
  ).not.toThrow();
}, 60_000);

test('importing imgverify loads none of their modules; a call loads its own, once, and passes its arguments through', () => {
  const loaded: string[] = [];
  const calls: unknown[][] = [];
  jest.isolateModules(() => {
    for (const module of LAZY_MODULES) {
      jest.doMock(`../../src/${module}`, () => {
        loaded.push(module);
        const actual = jest.requireActual<Record<string, unknown>>(`../../src/${module}`);
        return new Proxy(actual, {
          get: (target, name) =>
            typeof target[name as string] === 'function' ? (...args: unknown[]) => (calls.push([module, name, ...args]), 'result') : target[name as string],
        });
      });
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the entry, loaded under the mocks above
    const imgverify = require('../../src') as typeof import('../../src');
    expect(loaded).toEqual([]);
    expect(imgverify.parseSpdx('text')).toBe('result');
    expect(imgverify.imagesFromSbom('text', { format: 'json' })).toBe('result');
    expect(imgverify.defaultCredentialFiles()).toBe('result');
    expect(loaded).toEqual(['sbom', 'registry/auth/credentials']);
    expect(calls).toEqual([
      ['sbom', 'parseSpdx', 'text', undefined],
      ['sbom', 'imagesFromSbom', 'text', { format: 'json' }],
      ['registry/auth/credentials', 'defaultCredentialFiles', undefined, undefined],
    ]);
  });
  for (const module of LAZY_MODULES) jest.dontMock(`../../src/${module}`);
});

test('the wrappers are the functions themselves to a caller: the real modules answer through them', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the entry, unmocked
  const imgverify = require('../../src') as typeof import('../../src');
  expect(imgverify.kubernetesBinaryUrl('1.32.0', 'linux/amd64', 'kubectl')).toBe('https://dl.k8s.io/release/v1.32.0/bin/linux/amd64/kubectl');
  expect(imgverify.defaultDockerConfigPath({ DOCKER_CONFIG: '/cfg' })).toBe('/cfg/config.json');
  const doc = imgverify.parseSpdx(
    'SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\nDocumentName: x\nDocumentNamespace: https://example.test/x\nCreator: Tool: test\nCreated: 2024-01-01T00:00:00Z\n',
  );
  expect(imgverify.imagesFromSpdx(doc).images).toEqual([]);
});
