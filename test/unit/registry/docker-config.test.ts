import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore, defaultDockerConfigPath } from '../../../src/registry/auth/credentials';
import { lookupDockerConfig, normaliseRegistryKey, parseDockerConfig } from '../../../src/registry/auth/docker-config';
import { ImgverifyError } from '../../../src/errors';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('normaliseRegistryKey', () => {
  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['https://ghcr.io', 'ghcr.io'],
    ['GHCR.IO/some/path', 'ghcr.io'],
    ['http://localhost:5000/v2/', 'localhost:5000'],
    ['[::1]:5000', '[::1]:5000'],
    ['  quay.io  ', 'quay.io'],
  ])('%s → %s', (key, expected) => expect(normaliseRegistryKey(key)).toBe(expected));
});

describe('parseDockerConfig', () => {
  const config = parseDockerConfig(
    JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
        'ghcr.io': { username: 'gh', password: 'tok' },
        'https://quay.io': { identitytoken: 'refresh' },
        'empty.example': {},
      },
      credHelpers: { 'gcr.io': 'gcloud' },
      credsStore: 'desktop',
    }),
    '/cfg.json',
  );

  it('decodes auth (the password may contain ":"), username/password and identitytoken', () => {
    expect(lookupDockerConfig(config, 'docker.io')).toEqual({ credentials: { username: 'hubuser', password: 'hub:pass' } });
    expect(lookupDockerConfig(config, 'ghcr.io')).toEqual({ credentials: { username: 'gh', password: 'tok' } });
    expect(lookupDockerConfig(config, 'quay.io')).toEqual({ credentials: { identityToken: 'refresh' } });
  });

  it('reports credential helpers instead of running them', () => {
    expect(lookupDockerConfig(config, 'gcr.io')).toEqual({ helper: 'gcloud' });
    expect(lookupDockerConfig(config, 'empty.example')).toEqual({ helper: 'desktop' });
    expect(lookupDockerConfig(parseDockerConfig('{"auths":{}}', 'x'), 'other.io')).toEqual({});
  });

  it.each([
    ['not json {"auths": {"x": {"auth": "c2VjcmV0"', 'not valid JSON'],
    ['[]', 'not a JSON object'],
    ['{"auths": []}', '"auths" is not an object'],
    ['{"auths": {"r": {"auth": "***"}}}', 'is not base64'],
    [`{"auths": {"r": {"auth": "${b64('nocolon')}"}}}`, 'does not decode'],
    ['{"auths": {"r": {"username": 5}}}', 'username is not a string'],
    ['{"credHelpers": {"r": 1}}', 'credHelpers'],
  ])('rejects %s with INVALID_OPTIONS that does not quote the file', (text, why) => {
    let err: unknown;
    try {
      parseDockerConfig(text, '/home/u/.docker/config.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ImgverifyError);
    expect((err as ImgverifyError).code).toBe('INVALID_OPTIONS');
    expect((err as Error).message).toContain(why);
    expect((err as Error).message).toContain('/home/u/.docker/config.json');
    expect((err as Error).message).not.toContain('c2VjcmV0');
  });
});

describe('CredentialStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'imgverify-creds-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prefers the credentials option, then the docker config', async () => {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ auths: { 'reg.example:5000': { auth: b64('file:pw') }, 'https://index.docker.io/v1/': { auth: b64('hub:pw') } } }));
    const store = new CredentialStore({ 'https://reg.example:5000/': { username: 'opt', password: 'pw' } }, path);
    expect((await store.lookup('reg.example:5000')).credentials).toEqual({ username: 'opt', password: 'pw' });
    expect(await store.lookup('docker.io')).toEqual({ credentials: { username: 'hub', password: 'pw' }, source: `docker config ${path}` });
    expect((await store.lookup('other.example')).credentials).toBeUndefined();
  });

  it('treats a missing config file as no credentials, and names it', async () => {
    const store = new CredentialStore(undefined, join(dir, 'absent.json'));
    const found = await store.lookup('ghcr.io');
    expect(found.credentials).toBeUndefined();
    expect(found.source).toContain('absent.json');
  });

  it('says when a credential helper holds the credentials', async () => {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ credsStore: 'osxkeychain', auths: { 'ghcr.io': {} } }));
    expect((await new CredentialStore(undefined, path).lookup('ghcr.io')).source).toContain('docker-credential-osxkeychain');
  });

  it('rejects malformed explicit credentials', () => {
    const bad = (creds: unknown) => () => new CredentialStore({ r: creds as never }, undefined);
    expect(bad({ username: 'a:b', password: 'x' })).toThrow(/no ":"/);
    expect(bad({ username: 'a' })).toThrow(ImgverifyError);
    expect(bad({ identityToken: '' })).toThrow(/identityToken/);
  });

  it('finds the default config the way the docker CLI does', () => {
    expect(defaultDockerConfigPath({ DOCKER_CONFIG: '/etc/dc' })).toBe('/etc/dc/config.json');
    expect(defaultDockerConfigPath({})).toMatch(/\.docker\/config\.json$/);
  });
});
