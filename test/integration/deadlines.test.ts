/**
 * Issue 9.5: deadlines that bound the whole. A hostile registry that answers slowly,
 * redirects ten times and asks to retry used to hold one manifest lookup for 43 s under
 * `--timeout 1s`, since the timeout applied to each HTTP exchange. Now the registry client's
 * `timeoutMs` bounds one call, and the verifier's (`--timeout`) one image's verification.
 */
import { createVerifier } from '../../src';
import { runCli } from '../support/cli';
import { startProxy, textReply, type ProxyHook, type RunningProxy, type RunningRegistry } from '../support/registry';
import { startVerificationEnvironment, type VerificationEnvironment } from '../support/environment';
import { pushSignatures, pushTestImage } from '../support/signed-images';
import { rejection, testClient } from './registry/helpers';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const POLICY = { subject: SIGNER, issuer: ISSUER };

let env: VerificationEnvironment | undefined;
let registry: RunningRegistry;
let proxy: RunningProxy;
let n = 0;

beforeAll(async () => {
  env = await startVerificationEnvironment();
  registry = env.registry;
  proxy = await startProxy(registry);
});
afterEach(() => {
  proxy.setHook(undefined);
  proxy.setDelay(0);
});
afterAll(async () => {
  await proxy?.stop();
  await env?.stop();
});

async function signedImage() {
  const repo = `deadline/app-${++n}`;
  const image = await pushTestImage(registry, repo, 'v1');
  await pushSignatures(registry, repo, image.digest, [env!.sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  return { repo, image, ref: `${proxy.host}/${repo}:v1` };
}

/** Slow answers, ten redirects to itself, then 503s asking to retry after 1 s: each exchange is short, the sum is not. */
function stalling(match: (path: string) => boolean): ProxyHook {
  return (req) => {
    if (!match(req.path)) return undefined;
    const hop = Number(new URL(req.url, 'http://x').searchParams.get('hop') ?? '0');
    if (hop < 10) return { status: 307, headers: { location: `${req.path}?hop=${hop + 1}` }, body: Buffer.alloc(0) };
    return textReply(503, 'busy', { 'retry-after': '1' });
  };
}

test('a registry client call is bounded as a whole: redirects, slow answers and Retry-After waits included', async () => {
  const { repo } = await signedImage();
  proxy.setDelay(100);
  proxy.setHook(stalling((p) => p === `/v2/${repo}/manifests/v1`));
  const client = testClient({ timeoutMs: 1000, retries: 5, maxRetryDelayMs: 2000 });
  try {
    const started = Date.now();
    const err = await rejection(client.getManifest({ registry: proxy.host, repository: repo }, 'v1'), 'REGISTRY_TIMEOUT');
    const elapsed = Date.now() - started;
    expect(err.message).toContain(`manifest "v1" of ${proxy.host}/${repo}: no complete answer within 1000 ms`);
    expect(elapsed).toBeLessThan(3000);
    // Every redirect was followed within the deadline: the bound is on time, not on hops.
    expect(proxy.requests.filter((r) => r.path === `/v2/${repo}/manifests/v1`).length).toBeGreaterThanOrEqual(5);
  } finally {
    await client.close();
  }
});

test('the verifier bounds one image as a whole: each fetch is fast enough, their sum is not', async () => {
  const { ref } = await signedImage();
  // Every request takes 400 ms: resolving, the .sig manifest, its blob, the referrers API and tag.
  proxy.setDelay(400);
  const verifier = createVerifier({
    trustedRoot: env!.sigstore.trustedRoot as unknown as Record<string, unknown>,
    registry: { timeoutMs: 5000 },
    timeoutMs: 1000,
  });
  try {
    const started = Date.now();
    const result = await verifier.verify(ref, POLICY);
    expect(result.verified).toBe(false);
    expect(result.error?.code).toBe('REGISTRY_TIMEOUT');
    expect(result.error?.message).toContain('did not finish within 1000 ms');
    expect(Date.now() - started).toBeLessThan(2500);
    // With time enough, the same image verifies.
    proxy.setDelay(0);
    expect((await verifier.verify(ref, POLICY)).verified).toBe(true);
  } finally {
    await verifier.close();
  }
});

test('verify --timeout 1s against a stalling registry ends in about a second with exit 3', async () => {
  const { repo } = await signedImage();
  proxy.setDelay(100);
  proxy.setHook(stalling((p) => p.startsWith(`/v2/${repo}/`)));
  const started = Date.now();
  const r = await runCli(['verify', `${proxy.host}/${repo}:v1`, '--certificate-identity', SIGNER, '--certificate-oidc-issuer', ISSUER, '--timeout', '1s']);
  expect(r.code).toBe(3);
  expect(r.stdout + r.stderr).toContain('REGISTRY_TIMEOUT');
  expect(Date.now() - started).toBeLessThan(4000);
});
