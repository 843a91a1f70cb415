/**
 * Issue 18.2: credentials that travel with a call (an admitted object's pull secrets), tried
 * in turn the way the kubelet tries them, against a real registry:
 *
 * - a credential the registry (401 with its token, 403) or its token service (401) refuses
 *   gives way to the next; the one that worked is used, and a refused one is not retried for
 *   the same repository within the same call credentials;
 * - every credential refused: REGISTRY_AUTH_FAILED naming each and why (never anonymous);
 * - the call's credentials come before the client's own (option, plugins, files);
 * - a token obtained with one call's credential is never sent for another call that does not
 *   hold that credential (the token cache is keyed by the credential).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCredentialProviders } from '../../../src/registry/auth/credential-provider';
import type { CallCredentials, RegistryCredentials } from '../../../src/registry';
import {
  closePushers,
  credentialProviderConfigYaml,
  installCredentialProviderPlugin,
  pushImage,
  startProxy,
  startRegistry,
  type PushedImage,
  type RunningProxy,
  type RunningRegistry,
} from '../../support/registry';
import { rejection, testClient } from './helpers';

const alice = { username: 'alice', password: 'alice-pw' };
const bob = { username: 'bob', password: 'bob-pw' };
const wrong = { username: 'alice', password: 'not-her-password' };

/** Call credentials answering the same candidates for every repository; counts lookups. */
function callCredentials(...candidates: Array<[string, RegistryCredentials]>): CallCredentials & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    lookups,
    lookup: (registry, repository) => {
      lookups.push(`${registry}/${repository}`);
      return Promise.resolve({ candidates: candidates.map(([source, credentials]) => ({ source, credentials })), searched: 'the test' });
    },
  };
}

describe('credentials per call, tried in turn (token registry)', () => {
  let registry: RunningRegistry;
  let aliceImage: PushedImage;
  let bobImage: PushedImage;
  const repo = (repository: string) => ({ registry: registry.host, repository });
  const tokenRequests = () =>
    registry.tokenServer!.requests.map((r) => `${r.username ?? 'anonymous'} ${r.status} ${r.granted.length > 0 ? 'granted' : 'nothing'}`);

  beforeAll(async () => {
    registry = await startRegistry({
      auth: 'token',
      // The first user pushes the images.
      users: [{ username: 'pusher', password: 'pusher-pw' }, alice, bob],
      token: { anonymousPull: false, userPull: (user, repository) => user === 'pusher' || repository.startsWith(`${user}/`) },
    });
    [aliceImage, bobImage] = await Promise.all([pushImage(registry, 'alice/app', 'v1'), pushImage(registry, 'bob/app', 'v1')]);
  });
  afterAll(async () => {
    await closePushers();
    await registry?.stop();
  });
  beforeEach(() => registry.tokenServer!.requests.splice(0));

  it('a credential whose token grants nothing for the repository (registry 401) gives way to the next', async () => {
    const client = testClient();
    const credentials = callCredentials(['Secret team/alice', alice], ['Secret team/bob', bob]);
    try {
      expect((await client.getManifest(repo('bob/app'), 'v1', { credentials })).digest).toBe(bobImage.digest);
      expect(tokenRequests()).toEqual(['alice 200 nothing', 'bob 200 granted']);
      // Within the same call credentials, the refused credential is not tried again for the repository.
      registry.tokenServer!.requests.splice(0);
      await client.getBlob(repo('bob/app'), bobImage.layers[0]!.digest, { credentials });
      await client.getManifest(repo('bob/app'), bobImage.digest, { credentials });
      expect(tokenRequests()).toEqual([]);
      // Another repository: alice's credential is tried first there again, and works.
      expect((await client.getManifest(repo('alice/app'), 'v1', { credentials })).digest).toBe(aliceImage.digest);
      expect(tokenRequests()).toEqual(['alice 200 granted']);
    } finally {
      await client.close();
    }
  });

  it('a credential the token service refuses (401) gives way to the next', async () => {
    const client = testClient();
    try {
      const credentials = callCredentials(['Secret team/stale', wrong], ['Secret team/alice', alice]);
      expect((await client.getManifest(repo('alice/app'), 'v1', { credentials })).digest).toBe(aliceImage.digest);
      expect(tokenRequests()).toEqual(['anonymous 401 nothing', 'alice 200 granted']);
    } finally {
      await client.close();
    }
  });

  it('every credential refused: REGISTRY_AUTH_FAILED naming each and why; never an anonymous attempt', async () => {
    const client = testClient();
    try {
      const credentials = callCredentials(['Secret team/stale', wrong], ['Secret team/alice', alice]);
      const err = await rejection(client.getManifest(repo('bob/app'), 'v1', { credentials }), 'REGISTRY_AUTH_FAILED');
      expect(err.message).toContain(`manifest "v1" of ${registry.host}/bob/app`);
      expect(err.message).toContain('each refused: Secret team/stale (the token service answered 401); Secret team/alice (the registry answered 401');
      expect(err.message).not.toContain('alice-pw');
      expect(tokenRequests()).toEqual(['anonymous 401 nothing', 'alice 200 nothing']);
    } finally {
      await client.close();
    }
  });

  it("the call's credentials come before the client's own, which are tried after them", async () => {
    const client = testClient({ credentials: { [registry.host]: bob } });
    try {
      expect((await client.getManifest(repo('alice/app'), 'v1', { credentials: callCredentials(['Secret team/alice', alice]) })).digest).toBe(
        aliceImage.digest,
      );
      expect(tokenRequests()).toEqual(['alice 200 granted']);
      registry.tokenServer!.requests.splice(0);
      expect((await client.getManifest(repo('bob/app'), 'v1', { credentials: callCredentials(['Secret team/alice', alice]) })).digest).toBe(bobImage.digest);
      expect(tokenRequests()).toEqual(['alice 200 nothing', 'bob 200 granted']);
    } finally {
      await client.close();
    }
  });

  it("a token obtained with one call's credential is never sent for a call without it", async () => {
    const client = testClient();
    try {
      const withAlice = callCredentials(['Secret team/alice', alice]);
      expect((await client.getManifest(repo('alice/app'), 'v1', { credentials: withAlice })).digest).toBe(aliceImage.digest);
      // The same client, the same repository and scope, but a call that holds no credential:
      // it gets an anonymous token of its own, which the registry refuses.
      await rejection(client.getManifest(repo('alice/app'), 'v1'), 'REGISTRY_AUTH_FAILED');
      await rejection(client.getManifest(repo('alice/app'), 'v1', { credentials: callCredentials() }), 'REGISTRY_AUTH_FAILED');
      // Nor for a call holding another credential.
      await rejection(client.getManifest(repo('alice/app'), 'v1', { credentials: callCredentials(['Secret other/bob', bob]) }), 'REGISTRY_AUTH_FAILED');
      // (A token the registry refused is dropped: each anonymous call fetched its own.)
      expect(tokenRequests()).toEqual(['alice 200 granted', 'anonymous 200 nothing', 'anonymous 200 nothing', 'bob 200 nothing']);
      // A call holding the same credential (another object with the same pull secret) reuses it.
      registry.tokenServer!.requests.splice(0);
      await client.getManifest(repo('alice/app'), 'v1', { credentials: callCredentials(['Secret elsewhere/alice-copy', alice]) });
      expect(tokenRequests()).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('the same credential from two sources is tried once', async () => {
    const client = testClient();
    try {
      const credentials = callCredentials(['Secret team/a', alice], ['Secret team/b', alice]);
      const err = await rejection(client.getManifest(repo('bob/app'), 'v1', { credentials }), 'REGISTRY_AUTH_FAILED');
      expect(err.message).toContain('credentials: Secret team/a');
      expect(err.message).not.toContain('Secret team/b');
      expect(tokenRequests()).toEqual(['alice 200 nothing']);
    } finally {
      await client.close();
    }
  });

  it('call credentials are looked up only when the registry asks for authentication, and not for unrelated calls', async () => {
    const client = testClient();
    try {
      const credentials = callCredentials(['Secret team/alice', alice]);
      await client.getManifest(repo('alice/app'), 'v1', { credentials });
      expect(credentials.lookups).toEqual([`${registry.host}/alice/app`]);
    } finally {
      await client.close();
    }
  });

  it('kubelet credential provider plugins come after the call credentials and before the credential files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imgverify-walk-cp-'));
    const plugin = installCredentialProviderPlugin(join(dir, 'bin'), 'registry-login', { auth: { [registry.host]: bob }, cacheKeyType: 'Registry' });
    writeFileSync(join(dir, 'config.yaml'), credentialProviderConfigYaml([{ name: 'registry-login', matchImages: [registry.host] }]));
    const credentialProviders = await loadCredentialProviders({ config: join(dir, 'config.yaml'), binDir: join(dir, 'bin') });
    writeFileSync(join(dir, 'auth.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('alice:alice-pw').toString('base64') } } }));
    const client = testClient({ credentialProviders, credentialFiles: [join(dir, 'auth.json')] });
    try {
      // bob/app: the plugin's credential works; the file's is never needed.
      expect((await client.getManifest(repo('bob/app'), 'v1')).digest).toBe(bobImage.digest);
      expect(tokenRequests()).toEqual(['bob 200 granted']);
      // alice/app: the plugin's credential is refused; the credential file's works.
      registry.tokenServer!.requests.splice(0);
      expect((await client.getManifest(repo('alice/app'), 'v1')).digest).toBe(aliceImage.digest);
      expect(tokenRequests()).toEqual(['bob 200 nothing', 'alice 200 granted']);
      // The plugin ran once: its Registry-keyed answer served both repositories.
      expect(plugin.calls().map((c) => c.request.image)).toEqual([`${registry.host}/bob/app`]);
    } finally {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('credentials per call, tried in turn (basic registry behind a proxy answering 403)', () => {
  let registry: RunningRegistry;
  let proxy: RunningProxy;
  let image: PushedImage;
  const denied = { username: 'denied', password: 'denied-pw' };
  const repo = () => ({ registry: proxy.host, repository: 'private/app' });
  const basic = (c: { username: string; password: string }) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: [alice, denied] });
    image = await pushImage(registry, 'private/app', 'v1');
    // A registry that knows `denied` but forbids it this repository, as registries answer 403.
    proxy = await startProxy(registry, {
      onRequest: (req) =>
        req.headers.authorization === basic(denied)
          ? {
              status: 403,
              headers: { 'content-type': 'application/json' },
              body: Buffer.from('{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}'),
            }
          : undefined,
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    await closePushers();
    await registry?.stop();
  });

  it('a 403 with one credential gives way to the next; a wrong password (401) too', async () => {
    const client = testClient();
    try {
      const credentials = callCredentials(['Secret team/denied', denied], ['Secret team/stale', wrong], ['Secret team/alice', alice]);
      const before = proxy.requests.length;
      expect((await client.getManifest(repo(), 'v1', { credentials })).digest).toBe(image.digest);
      const sent = proxy.requests
        .slice(before)
        .filter((r) => r.path !== '/v2/')
        .map((r) => r.headers.authorization);
      // The API version check taught the client basic authentication: credentials go up front.
      expect(sent).toEqual([basic(denied), basic(wrong), basic(alice)]);
    } finally {
      await client.close();
    }
  });

  it('a 403 with the last credential is REGISTRY_AUTH_FAILED naming the credentials refused', async () => {
    const client = testClient();
    try {
      const credentials = callCredentials(['Secret team/stale', wrong], ['Secret team/denied', denied]);
      const err = await rejection(client.getManifest(repo(), 'v1', { credentials }), 'REGISTRY_AUTH_FAILED');
      expect(err.message).toContain('answered 403: access denied');
      expect(err.message).toContain('DENIED');
      expect(err.message).toContain('each refused: Secret team/stale (the registry answered 401');
      expect(err.message).toContain('Secret team/denied (the registry answered 403');
      expect(err.details).toMatchObject({ status: 403 });
    } finally {
      await client.close();
    }
  });
});
