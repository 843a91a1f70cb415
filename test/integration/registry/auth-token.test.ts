import { closePushers, pushImage, startRegistry, type PushedImage, type RunningRegistry } from '../../support/registry';
import { rejection, testClient } from './helpers';

describe('token authentication (distribution token protocol)', () => {
  let registry: RunningRegistry;
  let image: PushedImage;
  let secret: PushedImage;
  const user = { username: 'bob', password: 'hunter22', identityToken: 'bob-refresh-token' };
  const repo = (repository: string) => ({ registry: registry.host, repository });

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', users: [user], token: { anonymousPull: (name) => !name.startsWith('private/') } });
    [image, secret] = await Promise.all([pushImage(registry, 'public/app', 'v1'), pushImage(registry, 'private/app', 'v1')]);
  });
  afterAll(async () => {
    await closePushers();
    await registry?.stop();
  });
  beforeEach(() => registry.tokenServer!.requests.splice(0));

  it('pulls anonymously, without sending credentials to the token service', async () => {
    const client = testClient();
    try {
      expect((await client.getManifest(repo('public/app'), 'v1')).digest).toBe(image.digest);
      const [req] = registry.tokenServer!.requests;
      expect(registry.tokenServer!.requests).toHaveLength(1);
      expect(req).toMatchObject({ method: 'GET', service: 'imgverify-test-registry', scopes: ['repository:public/app:pull'] });
      expect(req!.authorization).toBeUndefined();
    } finally {
      await client.close();
    }
  });

  it('fetches one token for many requests in the same scope, even concurrent ones', async () => {
    const client = testClient();
    try {
      const ref = repo('public/app');
      await Promise.all([client.getManifest(ref, 'v1'), client.getManifest(ref, image.digest), client.getBlob(ref, image.layers[0]!.digest)]);
      for (let i = 0; i < 5; i++) await client.getManifest(ref, 'v1');
      await client.findManifest(ref, 'sha256-none.sig');
      expect(registry.tokenServer!.requests).toHaveLength(1);
      // Another repository is another scope: a second token.
      await client.findManifest(repo('public/other'), 'v1');
      expect(registry.tokenServer!.requests.map((r) => r.scopes)).toEqual([['repository:public/app:pull'], ['repository:public/other:pull']]);
    } finally {
      await client.close();
    }
  });

  it('an anonymous token without access to a private repository is REGISTRY_AUTH_FAILED', async () => {
    const client = testClient();
    try {
      const err = await rejection(client.getManifest(repo('private/app'), 'v1'), 'REGISTRY_AUTH_FAILED');
      expect(err.message).toContain(`manifest "v1" of ${registry.host}/private/app`);
      expect(err.message).toContain('bearer token');
      // A token fetched for this very request is not fetched again.
      expect(registry.tokenServer!.requests).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('sends basic credentials to the token service and gets access to private repositories', async () => {
    const client = testClient({ credentials: { [registry.host]: { username: user.username, password: user.password } } });
    try {
      expect((await client.getManifest(repo('private/app'), 'v1')).digest).toBe(secret.digest);
      const [req] = registry.tokenServer!.requests;
      expect(req).toMatchObject({ username: 'bob', status: 200 });
      expect(req!.authorization).toBe(`Basic ${Buffer.from('bob:hunter22').toString('base64')}`);
    } finally {
      await client.close();
    }
  });

  it('exchanges an identity token (OAuth2 refresh token) for an access token', async () => {
    const client = testClient({ credentials: { [registry.host]: { identityToken: user.identityToken } } });
    try {
      expect((await client.getManifest(repo('private/app'), 'v1')).digest).toBe(secret.digest);
      expect(registry.tokenServer!.requests[0]).toMatchObject({ method: 'POST', grantType: 'refresh_token', username: 'bob', scopes: ['repository:private/app:pull'] });
    } finally {
      await client.close();
    }
  });

  it('wrong credentials at the token service are REGISTRY_AUTH_FAILED', async () => {
    const client = testClient({ credentials: { [registry.host]: { username: user.username, password: 'nope' } } });
    try {
      const err = await rejection(client.getManifest(repo('public/app'), 'v1'), 'REGISTRY_AUTH_FAILED');
      expect(err.message).toContain('token service http://127.0.0.1');
      expect(err.message).toContain('refused the credentials');
      expect(registry.tokenServer!.requests.map((r) => r.status)).toEqual([401]);
    } finally {
      await client.close();
    }
  });
});

describe('a token service that requires credentials', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', token: { requireCredentials: true } });
    await pushImage(registry, 'app', 'v1');
  });
  afterAll(async () => {
    await closePushers();
    await registry?.stop();
  });

  it('refuses anonymous callers with REGISTRY_AUTH_FAILED', async () => {
    const client = testClient();
    try {
      const err = await rejection(client.getManifest({ registry: registry.host, repository: 'app' }, 'v1'), 'REGISTRY_AUTH_FAILED');
      expect(err.message).toContain('refused anonymous access');
    } finally {
      await client.close();
    }
  });
});
