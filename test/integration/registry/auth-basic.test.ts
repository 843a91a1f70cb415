import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../../src/registry';
import { closePushers, pushImage, startProxy, startRegistry, type PushedImage, type RunningProxy, type RunningRegistry } from '../../support/registry';
import { rejection, testClient } from './helpers';

describe('htpasswd (basic) authentication', () => {
  let registry: RunningRegistry;
  let proxy: RunningProxy;
  let image: PushedImage;
  let dir: string;
  const user = { username: 'alice', password: 'p4ss:with colon' };
  const repo = (host = registry.host) => ({ registry: host, repository: 'private/app' });

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: [user] });
    image = await pushImage(registry, 'private/app', 'v1');
    proxy = await startProxy(registry);
    dir = mkdtempSync(join(tmpdir(), 'imgverify-dockercfg-'));
  });
  afterAll(async () => {
    await closePushers();
    await proxy?.stop();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads with explicit credentials', async () => {
    const client = testClient({ credentials: { [registry.host]: user } });
    try {
      expect((await client.getManifest(repo(), 'v1')).digest).toBe(image.digest);
      expect((await client.getBlob(repo(), image.layers[0]!.digest)).length).toBe(512);
    } finally {
      await client.close();
    }
  });

  it('reads with credentials from a docker config.json, keyed by URL', async () => {
    const path = join(dir, 'config.json');
    const auth = Buffer.from(`${user.username}:${user.password}`).toString('base64');
    writeFileSync(path, JSON.stringify({ auths: { [`http://${registry.host}/v2/`]: { auth } } }));
    const client = testClient({ dockerConfigPath: path });
    try {
      expect((await client.getManifest(repo(), 'v1')).digest).toBe(image.digest);
    } finally {
      await client.close();
    }
  });

  it('finds the default config through DOCKER_CONFIG', async () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { username: user.username, password: user.password } } }));
    const saved = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = dir;
    const client = new RegistryClient({ retryBaseDelayMs: 5 });
    try {
      expect((await client.getManifest(repo(), 'v1')).digest).toBe(image.digest);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = saved;
      await client.close();
    }
  });

  it('a wrong password is REGISTRY_AUTH_FAILED, after one attempt with it', async () => {
    const client = testClient({ credentials: { [proxy.host]: { username: user.username, password: 'wrong' } } });
    const before = proxy.requests.length;
    try {
      const err = await rejection(client.getManifest(repo(proxy.host), 'v1'), 'REGISTRY_AUTH_FAILED');
      expect(err.message).toContain(`manifest "v1" of ${proxy.host}/private/app`);
      expect(err.message).toContain('credentials option');
      expect(err.message).toContain('UNAUTHORIZED');
      // ping, unauthenticated request, one retry with the credentials: no hammering.
      const sent = proxy.requests.slice(before).map((r) => `${r.path} ${r.headers.authorization ? 'auth' : 'anon'}`);
      expect(sent).toEqual(['/v2/ anon', '/v2/private/app/manifests/v1 auth']);
    } finally {
      await client.close();
    }
  });

  it('no credentials is REGISTRY_AUTH_FAILED that says where it looked', async () => {
    const client = testClient({ dockerConfigPath: join(dir, 'nothing-here.json') });
    try {
      const err = await rejection(client.getManifest(repo(), 'v1'), 'REGISTRY_AUTH_FAILED');
      expect(err.message).toContain('requires a username and password');
      expect(err.message).toContain('nothing-here.json');
    } finally {
      await client.close();
    }
  });

  it('sends basic credentials up front once the registry is known to want them', async () => {
    const client = testClient({ credentials: { [proxy.host]: user } });
    try {
      await client.getManifest(repo(proxy.host), 'v1');
      const before = proxy.requests.length;
      await client.getManifest(repo(proxy.host), image.digest);
      await client.getBlob(repo(proxy.host), image.layers[0]!.digest);
      const sent = proxy.requests.slice(before);
      expect(sent.map((r) => Boolean(r.headers.authorization?.startsWith('Basic ')))).toEqual([true, true]);
    } finally {
      await client.close();
    }
  });
});
