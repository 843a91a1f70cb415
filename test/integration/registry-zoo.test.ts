/**
 * The registry zoo (issue 9.7): signed images verified through quirk layers in front of the
 * real docker-registry, each reproducing a real registry's behaviour (test/support/registry/
 * zoo.ts cites the sources), plus the credential helper, CONNECT proxy and mTLS setups.
 * Every positive case verifies; every negative names its failure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVerifier, type ImageVerifier } from '../../src';
import type { RegistryClientOptions } from '../../src/registry';
import { runCli } from '../support/cli';
import {
  archeio,
  artifactRegistryBackend,
  closePushers,
  dockerHubLike,
  ghcrNoReferrersApi,
  githubPackagesPage,
  installCredentialHelper,
  issueClientCert,
  signedUrlStorage,
  startConnectProxy,
  startProxy,
  startRegistry,
  type RunningProxy,
  type RunningRegistry,
} from '../support/registry';
import { pushCosign3FallbackReferrers, pushNewBundleFormatReferrers, signImageV3 } from '../support/referrers';
import { pushSignatures, pushTestImage } from '../support/signed-images';
import { createTestSigstore, type TestSigstore } from '../support/sigstore';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const POLICY = { subject: SIGNER, issuer: ISSUER };

let sigstore: TestSigstore;
let work: string;
let rootFile: string;
const stops: Array<() => Promise<unknown>> = [];
let n = 0;

beforeAll(() => {
  sigstore = createTestSigstore();
  work = mkdtempSync(join(tmpdir(), 'imgverify-zoo-'));
  rootFile = join(work, 'trusted_root.json');
  writeFileSync(rootFile, JSON.stringify(sigstore.trustedRoot));
});
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await closePushers();
  rmSync(work, { recursive: true, force: true });
});

async function registryOf(options: Parameters<typeof startRegistry>[0] = {}): Promise<RunningRegistry> {
  const r = await startRegistry(options);
  stops.push(() => r.stop());
  return r;
}
async function layer(target: Parameters<typeof startProxy>[0], hook: Parameters<typeof startProxy>[1]): Promise<RunningProxy> {
  const p = await startProxy(target, hook);
  stops.push(() => p.stop());
  return p;
}
function verifierWith(registry: RegistryClientOptions = {}): ImageVerifier {
  const v = createVerifier({ trustedRoot: rootFile, registry: { retryBaseDelayMs: 5, credentialFiles: false, proxy: false, ...registry } });
  stops.push(() => v.close());
  return v;
}
async function legacySigned(registry: RunningRegistry, repo: string, identity = SIGNER) {
  const image = await pushTestImage(registry, repo, 'v1');
  await pushSignatures(registry, repo, image.digest, [sigstore.signImage({ digest: image.digest, identity: { email: identity }, issuer: ISSUER })]);
  return image;
}

describe('GHCR-like: no referrers API (303 to github.com, then 404); cosign fallback indexes in both field shapes', () => {
  let registry: RunningRegistry;
  let github: RunningProxy;
  let ghcr: RunningProxy;
  let verifier: ImageVerifier;
  beforeAll(async () => {
    registry = await registryOf();
    github = await layer(undefined, { onRequest: githubPackagesPage });
    ghcr = await layer(registry, { onRequest: ghcrNoReferrersApi(github.url) });
    verifier = verifierWith();
  });

  test.each([
    ['cosign 3.x via go-containerregistry < v0.22.1, descriptor artifactType empty (cosign#4641)', 'empty', 'untyped-descriptor'],
    ['cosign 3.x via go-containerregistry < v0.22.1, descriptor artifactType absent (kyverno#16754)', 'absent', 'untyped-descriptor'],
    ['cosign 2.5/2.6 --new-bundle-format (cosign#4422)', 'new-bundle-format', 'bundle-layer'],
  ] as const)('%s: verified from the referrers tag after the 303', async (_what, shape, expected) => {
    const repo = `org/app-${++n}`;
    const image = await pushTestImage(registry, repo, 'v1');
    const bundle = signImageV3(sigstore, { digest: image.digest });
    if (shape === 'new-bundle-format') await pushNewBundleFormatReferrers(registry, repo, image.descriptor, [bundle]);
    else await pushCosign3FallbackReferrers(registry, repo, image.descriptor, [bundle], shape);
    github.requests.splice(0);
    const result = await verifier.verify(`${ghcr.host}/${repo}:v1`, POLICY);
    expect(result.error).toBeUndefined();
    expect(result.verified).toBe(true);
    expect(result.signatures[0]!.referrer).toEqual({ listing: 'tag-schema', shape: expected });
  });

  test('the 303 was followed to the other host once per registry, without credentials, and read as "no API"', async () => {
    const fresh = verifierWith({ credentials: { [ghcr.host]: { username: 'octocat', password: 'ghp_secret' } } });
    const repo = `org/app-${++n}`;
    const image = await pushTestImage(registry, repo, 'v1');
    await pushCosign3FallbackReferrers(registry, repo, image.descriptor, [signImageV3(sigstore, { digest: image.digest })], 'empty');
    github.requests.splice(0);
    expect((await fresh.verify(`${ghcr.host}/${repo}:v1`, POLICY)).verified).toBe(true);
    expect(github.requests).toHaveLength(1);
    expect(github.requests[0]!.headers.authorization).toBeUndefined();
  });

  test('negative: a GHCR-shaped bundle from another identity → IDENTITY_MISMATCH', async () => {
    const repo = `org/app-${++n}`;
    const image = await pushTestImage(registry, repo, 'v1');
    await pushCosign3FallbackReferrers(
      registry,
      repo,
      image.descriptor,
      [signImageV3(sigstore, { digest: image.digest, identity: { email: 'eve@example.test' } })],
      'absent',
    );
    const result = await verifier.verify(`${ghcr.host}/${repo}:v1`, POLICY);
    expect(result.verified).toBe(false);
    expect(result.error?.code).toBe('IDENTITY_MISMATCH');
  });
});

describe('Docker Hub-like: token realm on another host, 429 TOOMANYREQUESTS with Retry-After', () => {
  let registry: RunningRegistry;
  const user = { username: 'hubuser', password: 'hub-password', identityToken: 'hub-refresh' };
  const hub = (options: { rateLimited?: number; retryAfter?: string }) =>
    dockerHubLike({ realm: registry.tokenServer!.realm.replace('127.0.0.1', 'localhost'), upstreamRealm: registry.tokenServer!.realm, ...options });
  beforeAll(async () => {
    registry = await registryOf({ auth: 'token', users: [user], token: { anonymousPull: (name) => !name.startsWith('private/') } });
  });

  test('a private repository with credentials: the token comes from the other host, the 429 is waited out; verified', async () => {
    const image = await legacySigned(registry, 'private/app');
    const limiter = hub({ rateLimited: 1, retryAfter: '1' });
    const front = await layer(registry, { onRequest: limiter });
    registry.tokenServer!.requests.splice(0);
    const verifier = verifierWith({ credentials: { [front.host]: { username: user.username, password: user.password } } });
    const started = Date.now();
    const result = await verifier.verify(`${front.host}/private/app:v1`, POLICY);
    expect(result.error).toBeUndefined();
    expect(result.verified).toBe(true);
    expect(result.digest).toBe(image.digest);
    expect(limiter.limited()).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    // Credentials went to the token service (another host), the registry saw only bearer tokens.
    expect(registry.tokenServer!.requests.every((r) => r.username === user.username)).toBe(true);
    expect(front.requests.filter((r) => r.headers.authorization !== undefined).every((r) => r.headers.authorization!.startsWith('Bearer '))).toBe(true);
  });

  test('anonymous pulls of a public repository: verified, no credentials sent anywhere', async () => {
    await legacySigned(registry, 'library/public');
    const front = await layer(registry, { onRequest: hub({}) });
    registry.tokenServer!.requests.splice(0);
    const result = await verifierWith().verify(`${front.host}/library/public:v1`, POLICY);
    expect(result.verified).toBe(true);
    expect(registry.tokenServer!.requests.every((r) => r.authorization === undefined)).toBe(true);
  });

  test('negative: a rate limit asking for an hour → REGISTRY_ERROR naming the wait, at once', async () => {
    await legacySigned(registry, 'library/limited');
    const front = await layer(registry, { onRequest: hub({ rateLimited: 100, retryAfter: '3600' }) });
    const result = await verifierWith().verify(`${front.host}/library/limited:v1`, POLICY);
    expect(result.error?.code).toBe('REGISTRY_ERROR');
    expect(result.error?.message).toContain('answered 429 (TOOMANYREQUESTS');
    expect(result.error?.message).toContain('retry after 3600 s');
  });

  test('negative: a wrong password → REGISTRY_AUTH_FAILED from the token service', async () => {
    await legacySigned(registry, 'private/other');
    const front = await layer(registry, { onRequest: hub({}) });
    const result = await verifierWith({ credentials: { [front.host]: { username: user.username, password: 'wrong' } } }).verify(
      `${front.host}/private/other:v1`,
      POLICY,
    );
    expect(result.error?.code).toBe('REGISTRY_AUTH_FAILED');
    expect(result.error?.message).toContain('token service http://localhost:');
  });
});

describe('registry.k8s.io-like: manifests and blobs redirected to a regional backend, blobs on to signed storage URLs', () => {
  let registry: RunningRegistry;
  let storage: RunningProxy;
  let backend: RunningProxy;
  let front: RunningProxy;
  const creds = { username: 'k8s-ci', password: 'front-door-only' };
  const PREFIX = '/v2/k8s-artifacts-prod/images';
  beforeAll(async () => {
    registry = await registryOf();
    storage = await layer(registry, { onRequest: signedUrlStorage });
    backend = await layer(registry, { onRequest: artifactRegistryBackend(PREFIX, storage.url) });
    front = await layer(undefined, { onRequest: archeio({ backend: backend.url, prefix: PREFIX, basic: creds }) });
  });
  beforeEach(() => {
    for (const p of [storage, backend, front]) p.requests.splice(0);
  });

  test('verified through both redirects; the credentials stay on the front host', async () => {
    const image = await legacySigned(registry, 'kube-apiserver');
    const result = await verifierWith({ credentials: { [front.host]: creds } }).verify(`${front.host}/kube-apiserver:v1`, POLICY);
    expect(result.error).toBeUndefined();
    expect(result.verified).toBe(true);
    expect(result.digest).toBe(image.digest);
    expect(backend.requests.length).toBeGreaterThan(0);
    expect(storage.requests.length).toBeGreaterThan(0);
    expect([...backend.requests, ...storage.requests].filter((r) => r.headers.authorization !== undefined)).toEqual([]);
    expect(front.requests.filter((r) => r.path.startsWith('/v2/kube')).every((r) => r.headers.authorization?.startsWith('Basic '))).toBe(true);
  });

  test('negative: a half-replicated backend missing a signature blob → REGISTRY_ERROR naming it (not "unsigned")', async () => {
    await legacySigned(registry, 'kube-scheduler');
    storage.setHook((req, ctx) =>
      req.path.includes('/kube-scheduler/blobs/') ? { status: 404, headers: {}, body: Buffer.from('NoSuchKey') } : signedUrlStorage(req, ctx),
    );
    try {
      const result = await verifierWith({ credentials: { [front.host]: creds } }).verify(`${front.host}/kube-scheduler:v1`, POLICY);
      expect(result.error?.code).toBe('REGISTRY_ERROR');
      expect(result.error?.category).toBe('operational');
      expect(result.error?.message).toContain('.sig layer 0 is listed but could not be fetched');
    } finally {
      storage.setHook(signedUrlStorage);
    }
  });
});

describe('a basic-auth-only registry read through a docker credential helper', () => {
  let registry: RunningRegistry;
  let configDir: string;
  const user = { username: 'robot$ci', password: 'from-the-keychain' };
  beforeAll(async () => {
    registry = await registryOf({ auth: 'htpasswd', users: [user] });
    await legacySigned(registry, 'team/app');
    configDir = join(work, 'docker');
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'zoo' } }));
  });

  test('verify: the helper on PATH supplies the credentials; verified', async () => {
    const helper = installCredentialHelper('zoo', { [registry.host]: { Username: user.username, Secret: user.password } });
    stops.push(async () => helper.remove());
    const r = await runCli(
      ['verify', `${registry.host}/team/app:v1`, '--certificate-identity', SIGNER, '--certificate-oidc-issuer', ISSUER, '--trusted-root', rootFile],
      helper.env({ DOCKER_CONFIG: configDir }),
    );
    expect(r.stdout).toMatch(/^VERIFIED/);
    expect(r.code).toBe(0);
    expect(helper.calls()).toEqual([registry.host]);
  });

  test('negative: the helper has no credentials → exit 3, REGISTRY_AUTH_FAILED naming the helper', async () => {
    const helper = installCredentialHelper('zoo', {});
    stops.push(async () => helper.remove());
    const r = await runCli(
      ['verify', `${registry.host}/team/app:v1`, '--certificate-identity', SIGNER, '--certificate-oidc-issuer', ISSUER, '--trusted-root', rootFile],
      helper.env({ DOCKER_CONFIG: configDir }),
    );
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('REGISTRY_AUTH_FAILED');
    expect(r.stdout).toContain('credential helper docker-credential-zoo');
  });
});

describe('a CONNECT proxy in front of a TLS registry with a private CA (more cases: test/integration/network.test.ts)', () => {
  test('verified through the proxy; negative: without the CA the certificate is refused', async () => {
    const registry = await registryOf({ tls: true, tlsNames: ['registry.corp.test'] });
    await legacySigned(registry, 'corp/app');
    const proxy = await startConnectProxy({ hosts: { 'registry.corp.test:443': registry.host } });
    stops.push(() => proxy.stop());
    const ok = await verifierWith({ ca: registry.ca!, proxy: { httpsProxy: proxy.url } }).verify('registry.corp.test/corp/app:v1', POLICY);
    expect(ok.error).toBeUndefined();
    expect(ok.verified).toBe(true);
    const refused = await verifierWith({ proxy: { httpsProxy: proxy.url } }).verify('registry.corp.test/corp/app:v1', POLICY);
    expect(refused.error?.code).toBe('REGISTRY_UNREACHABLE');
    expect(refused.error?.message).toContain('TLS certificate of registry.corp.test not accepted');
    expect(proxy.exchanges.every((e) => e.kind === 'connect' && e.target === 'registry.corp.test:443')).toBe(true);
  });
});

describe('an mTLS registry', () => {
  test('verified with the client certificate; negative: without it the handshake refusal is named', async () => {
    const registry = await registryOf({ mtls: true });
    await legacySigned(registry, 'secure/app');
    const client = await issueClientCert(registry.clientCa!);
    const ok = await verifierWith({ ca: registry.ca!, clientCertificates: { [registry.host]: { cert: client.certPem, key: client.keyPem } } }).verify(
      `${registry.host}/secure/app:v1`,
      POLICY,
    );
    expect(ok.error).toBeUndefined();
    expect(ok.verified).toBe(true);
    const refused = await verifierWith({ ca: registry.ca! }).verify(`${registry.host}/secure/app:v1`, POLICY);
    expect(refused.error?.code).toBe('REGISTRY_UNREACHABLE');
    expect(refused.error?.message).toContain('refused the TLS handshake');
  });
});
