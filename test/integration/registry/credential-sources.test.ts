/**
 * Issue 9.3: credentials where users keep them. A basic-auth-only registry (htpasswd) and a
 * token registry, read with credentials from real docker credential helpers (executables on
 * PATH), containers auth.json files (REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR), and several files
 * in order. The environment is passed as the `env` option, as the CLI passes its own.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { RegistryClient, type RegistryClientOptions } from '../../../src/registry';
import {
  closePushers,
  installCredentialHelper,
  pushImage,
  startRegistry,
  type InstalledHelper,
  type PushedImage,
  type RunningRegistry,
} from '../../support/registry';
import { runBuiltCli } from '../../support/cli';
import { isAlive as alive, within } from '../../support/processes';
import { rejection } from './helpers';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('credential helpers, containers auth files, several credential files', () => {
  let basic: RunningRegistry;
  let token: RunningRegistry;
  let image: PushedImage;
  let tokenImage: PushedImage;
  let dir: string;
  const user = { username: 'helped', password: 'kept-in-a-keychain', identityToken: 'helped-refresh-token' };
  const helpers: InstalledHelper[] = [];
  const client = (options: RegistryClientOptions) => new RegistryClient({ retryBaseDelayMs: 5, ...options });

  beforeAll(async () => {
    [basic, token] = await Promise.all([
      startRegistry({ auth: 'htpasswd', users: [user] }),
      startRegistry({ auth: 'token', users: [user], token: { anonymousPull: false } }),
    ]);
    [image, tokenImage] = await Promise.all([pushImage(basic, 'private/app', 'v1'), pushImage(token, 'private/app', 'v1')]);
    dir = mkdtempSync(join(tmpdir(), 'imgverify-credsources-'));
  });
  afterAll(async () => {
    for (const h of helpers) h.remove();
    await closePushers();
    await basic?.stop();
    await token?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (name: string, content: unknown) => {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, JSON.stringify(content));
    return path;
  };
  const helper = (name: string, entries: Parameters<typeof installCredentialHelper>[1], behaviour?: Parameters<typeof installCredentialHelper>[2]) => {
    const h = installCredentialHelper(name, entries, behaviour);
    helpers.push(h);
    return h;
  };

  it('credHelpers: docker-credential-<name> get, with the registry on stdin; run once per registry', async () => {
    const h = helper('zoo', { [basic.host]: { Username: user.username, Secret: user.password } });
    const c = client({
      dockerConfigPath: config('helpers/config.json', { credHelpers: { [basic.host]: 'zoo' }, auths: { [basic.host]: { auth: b64('inline:ignored') } } }),
      env: h.env(),
    });
    try {
      expect((await c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1')).digest).toBe(image.digest);
      await c.getBlob({ registry: basic.host, repository: 'private/app' }, image.layers[0]!.digest);
      expect(h.calls()).toEqual([basic.host]);
    } finally {
      await c.close();
    }
  });

  it('credsStore: the helper holds every registry (inline auths are ignored, as docker does)', async () => {
    const h = helper('store', { [basic.host]: { Username: user.username, Secret: user.password } });
    const c = client({ dockerConfigPath: config('store/config.json', { credsStore: 'store', auths: { [basic.host]: {} } }), env: h.env() });
    try {
      expect((await c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1')).digest).toBe(image.digest);
      expect(h.calls()).toEqual([basic.host]);
    } finally {
      await c.close();
    }
  });

  it('a helper answering Username "<token>": Secret is an identity token, exchanged at the token realm (POST refresh_token)', async () => {
    const h = helper('oauth', { [token.host]: { Username: '<token>', Secret: user.identityToken } });
    const c = client({ dockerConfigPath: config('oauth/config.json', { credHelpers: { [token.host]: 'oauth' } }), env: h.env() });
    token.tokenServer!.requests.splice(0);
    try {
      expect((await c.getManifest({ registry: token.host, repository: 'private/app' }, 'v1')).digest).toBe(tokenImage.digest);
      expect(token.tokenServer!.requests).toMatchObject([{ method: 'POST', grantType: 'refresh_token', username: user.username, status: 200 }]);
    } finally {
      await c.close();
    }
  });

  it('"credentials not found": anonymous, and the failure says the helper had none', async () => {
    const h = helper('empty', {});
    const c = client({ dockerConfigPath: config('empty/config.json', { credHelpers: { [basic.host]: 'empty' } }), env: h.env() });
    try {
      const err = await rejection(c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1'), 'REGISTRY_AUTH_FAILED');
      expect(err.message).toContain('credential helper docker-credential-empty');
      expect(err.message).toContain(`none for ${basic.host}`);
    } finally {
      await c.close();
    }
  });

  it.each([
    ['missing', 'INVALID_OPTIONS', 'docker-credential-missing is not on PATH'],
    ['crash', 'REGISTRY_AUTH_FAILED', 'exited with status 3'],
    ['flood', 'REGISTRY_AUTH_FAILED', 'more than 1048576 bytes of output'],
  ] as const)('a %s helper is a clear error naming it, its registry and where it was configured', async (kind, code, why) => {
    const h = kind === 'missing' ? helper('present', {}) : helper(kind, {}, kind);
    const path = config(`${kind}/config.json`, { credHelpers: { [basic.host]: kind } });
    const c = client({ dockerConfigPath: path, env: h.env() });
    try {
      const err = await rejection(c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1'), code);
      expect(err.message).toContain(`credential helper docker-credential-${kind} (named in docker config ${path}) for ${basic.host}: ${why}`);
      expect(err.message).not.toContain('secret-looking noise');
    } finally {
      await c.close();
    }
  });

  it('a helper that hangs is killed after 10 s', async () => {
    const h = helper('hang', {}, 'hang');
    const c = client({ dockerConfigPath: config('hang/config.json', { credHelpers: { [basic.host]: 'hang' } }), env: h.env(), timeoutMs: 30_000 });
    try {
      const started = Date.now();
      const err = await rejection(c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1'), 'REGISTRY_AUTH_FAILED');
      expect(err.message).toContain('no answer within 10000 ms');
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await c.close();
    }
  }, 30_000);

  it("a helper whose child hangs (sleep 100, not exec) is stopped at the caller's deadline with its whole process group (issue 20.5)", async () => {
    const h = helper('hangchild', {}, 'hang-child');
    const c = client({ dockerConfigPath: config('hangchild/config.json', { credHelpers: { [basic.host]: 'hangchild' } }), env: h.env(), timeoutMs: 30_000 });
    try {
      // The registry client passes the caller's reason through.
      await expect(c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1', { signal: AbortSignal.timeout(1500) })).rejects.toThrow(
        'The operation was aborted due to timeout',
      );
      expect(await within(5000, () => h.childPid() !== undefined)).toBe(true);
      const sleep = h.childPid()!;
      // The helper's child went with it: nothing outlives the lookup.
      expect(await within(5000, () => !alive(sleep))).toBe(true);
    } finally {
      const sleep = h.childPid();
      if (sleep !== undefined && alive(sleep)) process.kill(sleep, 'SIGKILL');
      await c.close();
    }
  });

  it("imgverify verify --timeout 3s with that helper: exit 3 at the deadline, the process does not wait for the helper's child (it stayed 100 s) (issue 20.5)", async () => {
    const h = helper('hangcli', {}, 'hang-child');
    const dockerConfig = join(dir, 'hangcli');
    config('hangcli/config.json', { credHelpers: { [basic.host]: 'hangcli' } });
    try {
      const r = await runBuiltCli(
        [
          'verify',
          `${basic.host}/private/app:v1`,
          '--certificate-identity',
          'x@example.test',
          '--certificate-oidc-issuer',
          'https://issuer.example.test',
          '--timeout',
          '3s',
        ],
        { ...h.env(), DOCKER_CONFIG: dockerConfig },
        30_000,
      );
      expect(r.code).toBe(3);
      expect(r.stdout + r.stderr).toContain('REGISTRY_TIMEOUT');
      const sleep = h.childPid();
      expect(sleep === undefined || (await within(5000, () => !alive(sleep)))).toBe(true);
    } finally {
      const sleep = h.childPid();
      if (sleep !== undefined && alive(sleep)) process.kill(sleep, 'SIGKILL');
    }
  });

  it('a helper that failed is not run again for a while (one process per lookup leaked in the webhook); reload runs it again (issue 20.5)', async () => {
    const h = helper('crashes', {}, 'crash');
    const c = client({ dockerConfigPath: config('crashes/config.json', { credHelpers: { [basic.host]: 'crashes' } }), env: h.env() });
    try {
      for (let i = 0; i < 3; i++) await rejection(c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1'), 'REGISTRY_AUTH_FAILED');
      expect(h.calls()).toHaveLength(1);
      c.reloadCredentials();
      await rejection(c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1'), 'REGISTRY_AUTH_FAILED');
      expect(h.calls()).toHaveLength(2);
    } finally {
      await c.close();
    }
  });

  it.each([
    ['an empty PATH entry (the working directory)', () => '/nonexistent:', true],
    ['a "." entry', () => '/nonexistent:.', true],
    ['a relative entry', (dir: string) => `/nonexistent:${relative(process.cwd(), dir)}`, false],
  ])('a helper found only through %s is not run (issue 20.13)', async (_what, path, inDir) => {
    const h = helper('planted', { [basic.host]: { Username: user.username, Secret: user.password } });
    const c = client({
      dockerConfigPath: config('planted/config.json', { credHelpers: { [basic.host]: 'planted' } }),
      env: { PATH: path(h.dir), HOME: '/nonexistent' },
    });
    const cwd = process.cwd();
    if (inDir) process.chdir(h.dir);
    try {
      const err = await rejection(c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1'), 'INVALID_OPTIONS');
      expect(err.message).toContain('docker-credential-planted is not on PATH (only its absolute directories are searched)');
      expect(h.calls()).toEqual([]);
    } finally {
      process.chdir(cwd);
      await c.close();
    }
  });

  it('containers auth.json: REGISTRY_AUTH_FILE, and $XDG_RUNTIME_DIR/containers/auth.json (podman, buildah, skopeo)', async () => {
    const authFile = config('podman/auth.json', { auths: { [basic.host]: { auth: b64(`${user.username}:${user.password}`) } } });
    for (const env of [
      { REGISTRY_AUTH_FILE: authFile, HOME: '/nonexistent' },
      { XDG_RUNTIME_DIR: join(dir, 'podman', '..', 'run'), HOME: '/nonexistent' },
    ]) {
      if ('XDG_RUNTIME_DIR' in env)
        config('run/containers/auth.json', { auths: { [`${basic.host}/private`]: { auth: b64(`${user.username}:${user.password}`) } } });
      const c = client({ env });
      try {
        expect((await c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1')).digest).toBe(image.digest);
      } finally {
        await c.close();
      }
    }
  });

  it('several credential files (mounted pull secrets): consulted in order, the first with an entry for the registry wins', async () => {
    const other = config('secrets/a/.dockerconfigjson', { auths: { 'ghcr.io': { auth: b64('gh:token') } } });
    const right = config('secrets/b/.dockerconfigjson', { auths: { [basic.host]: { auth: b64(`${user.username}:${user.password}`) } } });
    const wrong = config('secrets/c/.dockerconfigjson', { auths: { [basic.host]: { auth: b64(`${user.username}:stale`) } } });
    const c = client({ credentialFiles: [other, right, wrong], env: { HOME: '/nonexistent' } });
    try {
      expect((await c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1')).digest).toBe(image.digest);
      expect(c.credentialFiles).toEqual([other, right, wrong]);
    } finally {
      await c.close();
    }
  });

  it('reloadCredentials(): a rotated file takes effect without a new client', async () => {
    const path = config('rotating/config.json', { auths: { [basic.host]: { auth: b64(`${user.username}:old-password`) } } });
    const c = client({ dockerConfigPath: path, env: { HOME: '/nonexistent' } });
    try {
      await rejection(c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1'), 'REGISTRY_AUTH_FAILED');
      config('rotating/config.json', { auths: { [basic.host]: { auth: b64(`${user.username}:${user.password}`) } } });
      c.reloadCredentials();
      expect((await c.getManifest({ registry: basic.host, repository: 'private/app' }, 'v1')).digest).toBe(image.digest);
    } finally {
      await c.close();
    }
  });
});
