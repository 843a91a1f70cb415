import {
  closePushers,
  failTimes,
  pushImage,
  startProxy,
  startRegistry,
  textReply,
  type PushedImage,
  type RunningProxy,
  type RunningRegistry,
} from '../../support/registry';
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
      expect(registry.tokenServer!.requests[0]).toMatchObject({
        method: 'POST',
        grantType: 'refresh_token',
        username: 'bob',
        scopes: ['repository:private/app:pull'],
      });
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

/**
 * Issue 14.1 (second security review): a token service's Retry-After is bounded like a
 * registry's, its waits end with the caller's deadline, and a token fetch whose request gave
 * up is never joined by later requests. The registry's challenge is rewritten to send
 * clients to a proxy in front of the real token server, which the tests make misbehave.
 */
describe('a misbehaving token service (Retry-After, hangs)', () => {
  let registry: RunningRegistry;
  let tokenProxy: RunningProxy;
  let front: RunningProxy;
  let image: PushedImage;
  const ref = () => ({ registry: front.host, repository: 'team/app' });
  const isToken = (r: { path: string }) => r.path === '/token';

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
    image = await pushImage(registry, 'team/app', 'v1');
    tokenProxy = await startProxy(new URL(registry.tokenServer!.realm).origin);
    const realm = registry.tokenServer!.realm;
    front = await startProxy(registry, {
      onRequest: async (_req, ctx) => {
        const res = await ctx.forward();
        const challenge = res.headers['www-authenticate'];
        if (typeof challenge !== 'string') return res;
        return { ...res, headers: { ...res.headers, 'www-authenticate': challenge.replace(realm, `${tokenProxy.url}/token`) } };
      },
    });
  });
  afterEach(() => tokenProxy.setHook(undefined));
  afterAll(async () => {
    await closePushers();
    await front?.stop();
    await tokenProxy?.stop();
    await registry?.stop();
  });

  it.each([
    ['seconds', '3600', 'retry after 3600 s'],
    ['an HTTP date 20 days ahead', () => new Date(Date.now() + 20 * 86_400_000).toUTCString(), 'retry after 17280'],
  ])('a 503 asking to retry after %s is refused at once with REGISTRY_ERROR', async (_what, retryAfter, expected) => {
    const hook = failTimes(100, isToken, () => textReply(503, 'maintenance', { 'retry-after': typeof retryAfter === 'function' ? retryAfter() : retryAfter }));
    tokenProxy.setHook(hook);
    const client = testClient({ timeoutMs: 20_000 });
    try {
      const started = Date.now();
      const err = await rejection(client.getManifest(ref(), 'v1'), 'REGISTRY_ERROR');
      expect(err.message).toContain('token service');
      expect(err.message).toContain(expected);
      expect(err.message).toContain('longer than the 10000 ms this client waits');
      expect(hook.hits()).toBe(1);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await client.close();
    }
  });

  it('a short Retry-After from the token service is honoured (and the wait ends with the caller’s signal)', async () => {
    const hook = failTimes(1, isToken, () => textReply(503, 'busy', { 'retry-after': '2' }));
    tokenProxy.setHook(hook);
    const client = testClient();
    try {
      const err = await client.getManifest(ref(), 'v1', { signal: AbortSignal.timeout(300) }).catch((e: unknown) => e);
      expect((err as Error).name).toBe('TimeoutError');
      expect(hook.hits()).toBe(1);
    } finally {
      await client.close();
    }
    const again = testClient();
    try {
      tokenProxy.setHook(failTimes(1, isToken, () => textReply(503, 'busy', { 'retry-after': '1' })));
      expect((await again.getManifest(ref(), 'v1')).digest).toBe(image.digest);
    } finally {
      await again.close();
    }
  });

  it('a token fetch that hangs past one request’s deadline is not shared with the next request', async () => {
    let release: () => void = () => undefined;
    const hung = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    tokenProxy.setHook(async (req) => {
      if (!isToken(req)) return undefined;
      // The first token request hangs (until the test ends); later ones are answered.
      if (calls++ === 0) await hung;
      return undefined;
    });
    const client = testClient({ timeoutMs: 20_000 });
    try {
      const first = await client.getManifest(ref(), 'v1', { signal: AbortSignal.timeout(500) }).catch((e: unknown) => e);
      expect((first as Error).name).toBe('TimeoutError');
      // The token service is healthy again: the next admission gets a token of its own at once,
      // instead of waiting on the abandoned fetch until the 20 s per-request timeout.
      const started = Date.now();
      expect((await client.getManifest(ref(), 'v1', { signal: AbortSignal.timeout(5000) })).digest).toBe(image.digest);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(calls).toBe(2);
    } finally {
      release();
      await client.close();
    }
  });
});
