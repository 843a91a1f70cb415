import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore, defaultCredentialFiles, defaultDockerConfigPath } from '../../../../src/registry/auth/credentials';
import { lookupDockerConfig, normaliseRegistryKey, parseDockerConfig } from '../../../../src/registry/auth/docker-config';
import { ImgverifyError } from '../../../../src/errors';
import { errorMessage } from '../../../../src/util/describe';

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
    }),
    '/cfg.json',
  );

  it('decodes auth (the password may contain ":"), username/password and identitytoken', () => {
    expect(lookupDockerConfig(config, 'docker.io')).toEqual({ credentials: { username: 'hubuser', password: 'hub:pass' } });
    expect(lookupDockerConfig(config, 'ghcr.io')).toEqual({ credentials: { username: 'gh', password: 'tok' } });
    expect(lookupDockerConfig(config, 'quay.io')).toEqual({ credentials: { identityToken: 'refresh' } });
    expect(lookupDockerConfig(config, 'empty.example')).toEqual({});
  });

  it('names the helper in docker’s order: credHelpers, then credsStore (which supersedes inline auths), then auths', () => {
    expect(lookupDockerConfig(config, 'gcr.io')).toEqual({ helper: 'gcloud' });
    const store = parseDockerConfig(
      JSON.stringify({ auths: { 'ghcr.io': { auth: b64('a:b') } }, credHelpers: { 'gcr.io': 'gcloud' }, credsStore: 'desktop' }),
      'x',
    );
    expect(lookupDockerConfig(store, 'gcr.io')).toEqual({ helper: 'gcloud' });
    expect(lookupDockerConfig(store, 'ghcr.io')).toEqual({ helper: 'desktop' });
    expect(lookupDockerConfig(parseDockerConfig('{"auths":{}}', 'x'), 'other.io')).toEqual({});
  });

  it('containers auth.json: namespace keys, most specific first, before the registry entry', () => {
    const podman = parseDockerConfig(
      JSON.stringify({
        auths: { 'quay.io': { auth: b64('registry:pw') }, 'quay.io/org': { auth: b64('org:pw') }, 'quay.io/org/team': { auth: b64('team:pw') } },
      }),
      'auth.json',
      'containers',
    );
    expect(lookupDockerConfig(podman, 'quay.io', 'org/team/app')).toEqual({ credentials: { username: 'team', password: 'pw' } });
    expect(lookupDockerConfig(podman, 'quay.io', 'org/other')).toEqual({ credentials: { username: 'org', password: 'pw' } });
    expect(lookupDockerConfig(podman, 'quay.io', 'elsewhere/app')).toEqual({ credentials: { username: 'registry', password: 'pw' } });
    // In docker's format a path in a key is dropped (docker's own keys are URLs).
    expect(lookupDockerConfig(parseDockerConfig(JSON.stringify({ auths: { 'quay.io/org': { auth: b64('org:pw') } } }), 'c'), 'quay.io', 'x/y')).toEqual({
      credentials: { username: 'org', password: 'pw' },
    });
  });

  it('the legacy ~/.dockercfg format: the auths map at the top level', () => {
    const legacy = parseDockerConfig(JSON.stringify({ 'https://index.docker.io/v1/': { auth: b64('old:pw'), email: 'x@y' } }), '.dockercfg', 'dockercfg');
    expect(lookupDockerConfig(legacy, 'docker.io')).toEqual({ credentials: { username: 'old', password: 'pw' } });
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
    expect(errorMessage(err)).toContain(why);
    expect(errorMessage(err)).toContain('/home/u/.docker/config.json');
    expect(errorMessage(err)).not.toContain('c2VjcmV0');
  });
});

describe('CredentialStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'imgverify-creds-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const docker = (path: string) => [{ path, format: 'docker' as const }];

  it('prefers the credentials option, then the docker config', async () => {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ auths: { 'reg.example:5000': { auth: b64('file:pw') }, 'https://index.docker.io/v1/': { auth: b64('hub:pw') } } }));
    const store = new CredentialStore({ 'https://reg.example:5000/': { username: 'opt', password: 'pw' } }, docker(path));
    expect((await store.lookup('reg.example:5000')).credentials).toEqual({ username: 'opt', password: 'pw' });
    expect(await store.lookup('docker.io')).toEqual({ credentials: { username: 'hub', password: 'pw' }, source: `docker config ${path}` });
    expect((await store.lookup('other.example')).credentials).toBeUndefined();
  });

  it('treats a missing config file as no credentials, and names it', async () => {
    const store = new CredentialStore(undefined, docker(join(dir, 'absent.json')));
    const found = await store.lookup('ghcr.io');
    expect(found.credentials).toBeUndefined();
    expect(found.source).toContain('absent.json');
  });

  it('consults files in order: the first with an answer for the registry wins; a file without one is skipped', async () => {
    const first = join(dir, 'first.json');
    const second = join(dir, 'auth.json');
    writeFileSync(first, JSON.stringify({ auths: { 'ghcr.io': { auth: b64('first:pw') } } }));
    writeFileSync(second, JSON.stringify({ auths: { 'ghcr.io': { auth: b64('second:pw') }, 'quay.io': { auth: b64('podman:pw') } } }));
    const store = new CredentialStore(undefined, [...docker(first), { path: second, format: 'containers' }]);
    expect((await store.lookup('ghcr.io')).credentials).toEqual({ username: 'first', password: 'pw' });
    expect(await store.lookup('quay.io')).toEqual({ credentials: { username: 'podman', password: 'pw' }, source: `containers auth file ${second}` });
  });

  it('a missing credential helper is a clear error naming it and where it was configured', async () => {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ credsStore: 'osxkeychain', auths: { 'ghcr.io': {} } }));
    const err = await new CredentialStore(undefined, docker(path), { PATH: dir }).lookup('ghcr.io').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImgverifyError);
    expect((err as ImgverifyError).code).toBe('INVALID_OPTIONS');
    expect(errorMessage(err)).toContain(
      `credential helper docker-credential-osxkeychain (named in docker config ${path}) for ghcr.io: docker-credential-osxkeychain is not on PATH`,
    );
  });

  it('reload() reads the files again', async () => {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ auths: { 'ghcr.io': { auth: b64('old:pw') } } }));
    const store = new CredentialStore(undefined, docker(path));
    expect((await store.lookup('ghcr.io')).credentials).toEqual({ username: 'old', password: 'pw' });
    writeFileSync(path, JSON.stringify({ auths: { 'ghcr.io': { auth: b64('new:pw') } } }));
    expect((await store.lookup('ghcr.io')).credentials).toEqual({ username: 'old', password: 'pw' });
    store.reload();
    expect((await store.lookup('ghcr.io')).credentials).toEqual({ username: 'new', password: 'pw' });
  });

  it('the default chain: REGISTRY_AUTH_FILE, docker config, containers auth files, ~/.dockercfg', () => {
    expect(defaultCredentialFiles({ HOME: '/h', REGISTRY_AUTH_FILE: '/r/auth.json', XDG_RUNTIME_DIR: '/run/user/1', DOCKER_CONFIG: '/d' })).toEqual([
      { path: '/r/auth.json', format: 'containers' },
      { path: '/d/config.json', format: 'docker' },
      { path: '/run/user/1/containers/auth.json', format: 'containers' },
      { path: '/h/.config/containers/auth.json', format: 'containers' },
      { path: '/h/.dockercfg', format: 'dockercfg' },
    ]);
    expect(defaultCredentialFiles({ HOME: '/h', XDG_CONFIG_HOME: '/cfg' }).map((f) => f.path)).toEqual([
      '/h/.docker/config.json',
      '/cfg/containers/auth.json',
      '/h/.dockercfg',
    ]);
  });

  it('rejects malformed explicit credentials', () => {
    const bad = (creds: unknown) => () => new CredentialStore({ r: creds as never }, []);
    expect(bad({ username: 'a:b', password: 'x' })).toThrow(/no ":"/);
    expect(bad({ username: 'a' })).toThrow(ImgverifyError);
    expect(bad({ identityToken: '' })).toThrow(/identityToken/);
  });

  it('finds the default config the way the docker CLI does', () => {
    expect(defaultDockerConfigPath({ DOCKER_CONFIG: '/etc/dc' })).toBe('/etc/dc/config.json');
    expect(defaultDockerConfigPath({})).toMatch(/\.docker\/config\.json$/);
  });
});
