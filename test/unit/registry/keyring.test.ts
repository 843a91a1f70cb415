/**
 * Pull secret keys matched to images as the kubelet matches them (kubernetes
 * pkg/credentialprovider: BasicDockerKeyring.Add/Lookup, URLsMatch, isDefaultRegistryMatch).
 * The expectations are the kubelet's documented behaviour, checked case by case.
 */
import fc from 'fast-check';
import { keyringEntries, keyringKey, matchLabel, RegistryKeyring, urlsMatch } from '../../../src/registry/auth/keyring';
import { thrown } from '../../support/errors';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const creds = (username: string) => ({ username, password: `${username}-pw` });

describe('urlsMatch (kubelet URLsMatchStr)', () => {
  it.each([
    // globs per host label
    ['*.kubernetes.io', 'prefix.kubernetes.io', true],
    ['prefix.*.io', 'prefix.kubernetes.io', true],
    ['prefix.kubernetes.*', 'prefix.kubernetes.io', true],
    ['*-good.kubernetes.io', 'prefix-good.kubernetes.io', true],
    ['*.dkr.ecr.*.amazonaws.com', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app', true],
    ['*.dkr.ecr.*.amazonaws.com', '123456789012.dkr.ecr.eu-west-1.amazonaws.com.cn/app', false],
    ['*.azurecr.io', 'myregistry.azurecr.io/team/app', true],
    ['*-docker.pkg.dev', 'europe-docker.pkg.dev/project/repo/app', true],
    // paths are prefixes (a plain string prefix, as the kubelet compares them)
    ['*.kubernetes.io/blah', 'prefix.kubernetes.io/blah', true],
    ['prefix.*.io/foo', 'prefix.kubernetes.io/foo/bar', true],
    ['quay.io/org', 'quay.io/org/app', true],
    ['quay.io/org', 'quay.io/organisation/app', true],
    ['quay.io/org/', 'quay.io/organisation/app', false],
    ['quay.io/org/app', 'quay.io/org', false],
    // ports must be equal
    ['*.kubernetes.io:1111/blah', 'prefix.kubernetes.io:1111/blah', true],
    ['prefix.*.io:1111/foo', 'prefix.kubernetes.io:1111/foo/bar', true],
    ['*.kubernetes.io:1234/blah', 'prefix.kubernetes.io:1111/blah', false],
    ['prefix.*.io/foo', 'prefix.kubernetes.io:1111/foo/bar', false],
    ['registry.example:5000', 'registry.example/app', false],
    ['localhost:5000', 'localhost:5000/app', true],
    ['[::1]:5000', '[::1]:5000/app', true],
    ['[::1]:5000', '[::1]:5001/app', false],
    // the number of labels must be equal: * never spans a dot
    ['*.kubernetes.io', 'kubernetes.io', false],
    ['*.*.kubernetes.io', 'prefix.kubernetes.io', false],
    ['*.io', 'evil.example.io/app', false],
    ['*', 'localhost/app', true],
    ['*', 'docker.io/library/nginx', false],
    // plain mismatches
    ['kubernetes.io', 'kubernetes.com', false],
    ['k*.io', 'quay.io', false],
    // host names are case-insensitive
    ['Registry.Example.COM', 'registry.example.com/app', true],
  ])('%s vs %s → %s', (glob, target, expected) => expect(urlsMatch(glob, target)).toBe(expected));
});

describe('matchLabel (Go filepath.Match on one label)', () => {
  it.each([
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['[^a-c]x', 'dx', true],
    ['[^a-c]x', 'ax', false],
    ['\\*x', '*x', true],
    ['\\*x', 'ax', false],
    ['a.b', 'axb', false],
    ['(a|b)', 'a', false],
    ['a+', 'aa', false],
  ])('%s vs %s → %s', (pattern, name, expected) => expect(matchLabel(pattern, name)).toBe(expected));

  it.each(['[', '[]a]', '[-a]', '[a-]', 'a\\', '[z-a]'])('a malformed pattern %s matches nothing (the kubelet ignores the error)', (pattern) => {
    expect(matchLabel(pattern, 'a')).toBe(false);
    expect(matchLabel(pattern, pattern)).toBe(false);
  });

  it('never throws, whatever the pattern and name (property)', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (pattern, name) => typeof matchLabel(pattern, name) === 'boolean'));
  });

  it('a pattern without special characters matches exactly itself (property)', () => {
    fc.assert(fc.property(fc.stringMatching(/^[a-z0-9-]{1,20}$/), fc.stringMatching(/^[a-z0-9-]{1,20}$/), (a, b) => matchLabel(a, b) === (a === b)));
  });
});

describe('keyringKey (kubelet BasicDockerKeyring.Add)', () => {
  it.each([
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['index.docker.io', 'index.docker.io'],
    ['http://registry.example:5000', 'registry.example:5000'],
    ['https://registry.example/v2/', 'registry.example'],
    ['https://registry.example/v2/team', 'registry.example/team'],
    ['quay.io/org', 'quay.io/org'],
    ['quay.io/org/', 'quay.io/org/'],
    ['*.docker.io/v1/', '*.docker.io'],
    ['user@registry.example', 'registry.example'],
    ['GHCR.IO', 'ghcr.io'],
  ])('%s → %s', (key, expected) => expect(keyringKey(key)).toBe(expected));

  it.each(['', 'https://', '/path', 'bad host'])('%j is unusable', (key) => expect(keyringKey(key)).toBeUndefined());
});

describe('RegistryKeyring.lookup', () => {
  it('more specific keys first (reverse lexical order), each key in the order added', () => {
    const keyring = new RegistryKeyring([
      { key: 'quay.io', credentials: creds('registry-wide'), source: 'Secret ns/a' },
      { key: 'quay.io/org', credentials: creds('org'), source: 'Secret ns/b' },
      { key: 'https://quay.io/v1/', credentials: creds('registry-wide-2'), source: 'Secret ns/c' },
      { key: 'quay.io/org/app', credentials: creds('app'), source: 'Secret ns/d' },
    ]);
    expect(keyring.lookup('quay.io/org/app').map((c) => c.credentials)).toEqual([creds('app'), creds('org'), creds('registry-wide'), creds('registry-wide-2')]);
    expect(keyring.lookup('quay.io/other/app').map((c) => c.source)).toEqual(['Secret ns/a', 'Secret ns/c']);
    expect(keyring.lookup('ghcr.io/org/app')).toEqual([]);
  });

  it("Docker Hub: docker login's https://index.docker.io/v1/ entry is used for docker.io images, and only for them", () => {
    const keyring = new RegistryKeyring([{ key: 'https://index.docker.io/v1/', credentials: creds('hub'), source: 'Secret ns/hub' }]);
    expect(keyring.lookup('docker.io/library/nginx').map((c) => c.credentials)).toEqual([creds('hub')]);
    expect(keyring.lookup('docker.io/team/app')).toHaveLength(1);
    expect(keyring.lookup('registry.tld/foo/bar')).toEqual([]);
    expect(keyring.lookup('myhostdocker.io/foo/bar')).toEqual([]);
    expect(keyring.lookup('registry:5000/foo/bar')).toEqual([]);
  });

  it('a docker.io key matches docker.io images directly; then the index.docker.io fallback is not added', () => {
    const keyring = new RegistryKeyring([
      { key: 'docker.io', credentials: creds('direct'), source: 'a' },
      { key: 'https://index.docker.io/v1/', credentials: creds('legacy'), source: 'b' },
    ]);
    expect(keyring.lookup('docker.io/library/nginx').map((c) => c.source)).toEqual(['a']);
  });

  it('a glob key is used for every host it matches and for no other', () => {
    const keyring = new RegistryKeyring([{ key: '*.registry.example', credentials: creds('glob'), source: 's' }]);
    expect(keyring.lookup('eu.registry.example/app')).toHaveLength(1);
    expect(keyring.lookup('registry.example/app')).toEqual([]);
    expect(keyring.lookup('eu.registry.example.evil.test/app')).toEqual([]);
  });
});

describe("keyringEntries (a pull secret's docker config)", () => {
  it('.dockerconfigjson: {"auths": {...}}, keys as written, entries without credentials left out', () => {
    const text = JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:pw:with:colons') },
        'quay.io/org': { username: 'robot', password: 'tok', email: 'x@example.com' },
        'ghcr.io': {},
      },
      HttpHeaders: { 'User-Agent': 'x' },
    });
    expect(keyringEntries(text, 'dockerconfigjson', 'Secret ns/pull')).toEqual([
      { key: 'https://index.docker.io/v1/', credentials: { username: 'hub', password: 'pw:with:colons' }, source: 'Secret ns/pull' },
      { key: 'quay.io/org', credentials: { username: 'robot', password: 'tok' }, source: 'Secret ns/pull' },
    ]);
  });

  it('.dockercfg: the map is the top level', () => {
    const text = JSON.stringify({ 'registry.example:5000': { auth: b64('old:pw') } });
    expect(keyringEntries(text, 'dockercfg', 'Secret ns/old')).toEqual([
      { key: 'registry.example:5000', credentials: { username: 'old', password: 'pw' }, source: 'Secret ns/old' },
    ]);
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['[]', 'the top level is not a JSON object'],
    ['{"auths": []}', '"auths" is not an object'],
    [JSON.stringify({ auths: { r: { auth: '%%%' } } }), 'is not base64'],
    [JSON.stringify({ auths: { r: { auth: b64('no-colon-secret') } } }), 'does not decode to "username:password"'],
  ])('%s is refused naming the Secret, never quoting it', (text, why) => {
    const err = thrown(() => keyringEntries(text, 'dockerconfigjson', 'Secret ns/bad (.dockerconfigjson)'));
    expect(err).toMatchObject({ code: 'INVALID_OPTIONS' });
    expect(err.message).toContain('Secret ns/bad (.dockerconfigjson)');
    expect(err.message).toContain(why);
    expect(err.message).not.toContain('no-colon-secret');
  });
});
