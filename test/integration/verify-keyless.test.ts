/**
 * End to end against a real registry (Debian's docker-registry) and the private test
 * Sigstore: positive cases, and one negative per check, each asserting the failure reason.
 */
import { createHash } from 'node:crypto';
import { createVerifier, type ImageVerifier } from '../../src';
import type { ImageVerificationResult } from '../../src/verify/types';
import { startProxy, type RunningProxy, type RunningRegistry } from '../support/registry';
import { startVerificationEnvironment, type VerificationEnvironment } from '../support/environment';
import { pushMultiArch, pushSignatures, pushTestImage } from '../support/signed-images';
import type { KeylessDefect, TestSigstore } from '../support/sigstore';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const POLICY = { subject: SIGNER, issuer: ISSUER };

let registry: RunningRegistry;
let sigstore: TestSigstore;
let verifier: ImageVerifier;

let env: VerificationEnvironment | undefined;
beforeAll(async () => {
  env = await startVerificationEnvironment();
  ({ registry, sigstore, verifier } = env);
});
afterAll(() => env?.stop());

let counter = 0;
/** A fresh repository per test, so tests do not see each other's signatures. */
const repo = (name = 'app') => `it/${name}-${++counter}`;

async function signedImage(
  name: string,
  opts: { defect?: KeylessDefect; identity?: Parameters<TestSigstore['signImage']>[0]['identity']; issuer?: string } = {},
) {
  const r = repo(name);
  const image = await pushTestImage(registry, r, 'v1');
  const layer = sigstore.signImage({
    digest: image.digest,
    dockerReference: `${registry.host}/${r}`,
    identity: opts.identity ?? { email: SIGNER },
    issuer: opts.issuer ?? ISSUER,
    ...(opts.defect ? { defect: opts.defect } : {}),
  });
  await pushSignatures(registry, r, image.digest, [layer]);
  return { repo: r, image, ref: `${registry.host}/${r}:v1` };
}

function expectVerified(result: ImageVerificationResult, digest: string): void {
  expect(result.error).toBeUndefined();
  expect(result.verified).toBe(true);
  expect(result.digest).toBe(digest);
  expect(result.signatures.some((s) => s.verified)).toBe(true);
}

describe('verifies', () => {
  test('by tag: digest resolved from the registry, signer reported', async () => {
    const { image, ref, repo: r } = await signedImage('by-tag');
    const result = await verifier.verify(ref, POLICY);
    expectVerified(result, image.digest);
    expect(result.reference).toBe(`${registry.host}/${r}:v1`);
    expect(result.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    const sig = result.signatures[0]!;
    expect(sig.source).toBe('sig-tag');
    expect(sig.signer).toMatchObject({ subject: SIGNER, issuer: ISSUER });
    expect(sig.signedDigest).toBe(image.digest);
    expect(sig.dockerReference).toBe(`${registry.host}/${r}`);
    expect(sig.tlog?.logIndex).toEqual(expect.any(Number));
    expect(sig.location).toContain(`:sha256-${image.digest.slice(7)}.sig layer 0`);
  });

  test('by digest', async () => {
    const { image, repo: r } = await signedImage('by-digest');
    expectVerified(await verifier.verify(`${registry.host}/${r}@${image.digest}`, POLICY), image.digest);
  });

  test('by tag and digest (the digest wins, as in docker)', async () => {
    const { image, repo: r } = await signedImage('tag-digest');
    expectVerified(await verifier.verify(`${registry.host}/${r}:whatever@${image.digest}`, POLICY), image.digest);
  });

  test('a Docker v2 manifest', async () => {
    const r = repo('docker-v2');
    const image = await pushTestImage(registry, r, 'v1', 'docker');
    await pushSignatures(registry, r, image.digest, [sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
    const result = await verifier.verify(`${registry.host}/${r}:v1`, POLICY);
    expectVerified(result, image.digest);
    expect(result.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
  });

  test('a multi-arch index (signed at the index digest; children are not implied)', async () => {
    const r = repo('multiarch');
    const { index, children } = await pushMultiArch(registry, r, 'v1');
    await pushSignatures(registry, r, index.digest, [sigstore.signImage({ digest: index.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
    const result = await verifier.verify(`${registry.host}/${r}:v1`, POLICY);
    expectVerified(result, index.digest);
    expect(result.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    const child = await verifier.verify(`${registry.host}/${r}@${children[0]!.digest}`, POLICY);
    expect(child.verified).toBe(false);
    expect(child.error?.code).toBe('NO_SIGNATURES');
  });

  test('a deep repository path', async () => {
    const r = `${repo('deep')}/a/b/c/d`;
    const image = await pushTestImage(registry, r, '1.0.0');
    await pushSignatures(registry, r, image.digest, [sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
    expectVerified(await verifier.verify(`${registry.host}/${r}:1.0.0`, POLICY), image.digest);
  });

  test('several signatures of which one matches the policy', async () => {
    const r = repo('several');
    const image = await pushTestImage(registry, r, 'v1');
    const layers = [
      sigstore.signImage({ digest: image.digest, identity: { email: 'someone@else.test' }, issuer: ISSUER }),
      sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER, defect: 'set-unknown-key' }),
      sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER }),
    ];
    await pushSignatures(registry, r, image.digest, layers);
    const result = await verifier.verify(`${registry.host}/${r}:v1`, POLICY);
    expectVerified(result, image.digest);
    expect(result.signatures.map((s) => s.verified)).toEqual([false, false, true]);
    expect(result.signatures[0]!.failure?.code).toBe('IDENTITY_MISMATCH');
    expect(result.signatures[1]!.failure?.code).toBe('TLOG_INCLUSION_PROMISE_INVALID');
  });

  test.each([
    ['URI (GitHub Actions workflow)', { uri: 'https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1' }],
    ['OtherName (username)', { otherName: 'release-bot!example.test' }],
  ])('identity as a %s SAN', async (_kind, identity) => {
    const { image, ref } = await signedImage('san', { identity });
    const subject = Object.values(identity)[0]!;
    expectVerified(await verifier.verify(ref, { subject, issuer: ISSUER }), image.digest);
  });

  test('regexp identity and issuer', async () => {
    const { image, ref } = await signedImage('regexp');
    expectVerified(await verifier.verify(ref, { subjectRegExp: '^release@example\\.test$', issuerRegExp: '^https://accounts\\.' }), image.digest);
  });

  test('one of several acceptable identities', async () => {
    const { image, ref } = await signedImage('identities');
    const result = await verifier.verify(ref, { identities: [{ subject: 'a@b.c', issuer: ISSUER }, POLICY] });
    expectVerified(result, image.digest);
  });

  test('a discriminated result: the signer and the reference pinned to the digest (the tag kept; a digest reference not pinned twice)', async () => {
    const { image, ref, repo: r } = await signedImage('pinned');
    const byTag = await verifier.verify(ref, POLICY);
    if (!byTag.verified) throw byTag.error;
    expect(byTag.pinnedReference).toBe(`${registry.host}/${r}:v1@${image.digest}`);
    expect(byTag.signer).toEqual(byTag.signatures.find((s) => s.verified)?.signer);
    expect(byTag.signer.subject).toBe(SIGNER);
    const byDigest = await verifier.verify(`${registry.host}/${r}@${image.digest}`, POLICY);
    expect(byDigest).toMatchObject({ verified: true, pinnedReference: `${registry.host}/${r}@${image.digest}` });
    const failed = await verifier.verify(ref, { subject: 'someone@else.test', issuer: ISSUER });
    if (failed.verified) throw new Error('verified under the wrong identity');
    expect(failed.error.code).toBe('IDENTITY_MISMATCH');
    expect(failed.pinnedReference).toBe(`${registry.host}/${r}:v1@${image.digest}`);
    expect(failed.signer).toBeUndefined();
  });
});

describe('rejects, naming the check that failed', () => {
  test.each<[KeylessDefect, string]>([
    ['untrusted-ca', 'CERTIFICATE_CHAIN_INVALID'],
    ['wrong-intermediate', 'CERTIFICATE_CHAIN_INVALID'],
    ['cert-expired', 'CERTIFICATE_CHAIN_INVALID'],
    ['cert-not-yet-valid', 'CERTIFICATE_CHAIN_INVALID'],
    ['no-sct', 'SCT_INVALID'],
    ['sct-unknown-log', 'SCT_INVALID'],
    ['sct-invalid-signature', 'SCT_INVALID'],
    ['set-unknown-key', 'TLOG_INCLUSION_PROMISE_INVALID'],
    ['rekor-body-other-cert', 'TLOG_BODY_MISMATCH'],
    ['rekor-body-other-hash', 'TLOG_BODY_MISMATCH'],
    ['rekor-body-other-signature', 'TLOG_BODY_MISMATCH'],
    ['signature-other-key', 'SIGNATURE_INVALID'],
    // The payload no longer hashes to what Rekor logged: the tlog body check catches it first.
    ['tampered-payload', 'TLOG_BODY_MISMATCH'],
    ['payload-other-digest', 'PAYLOAD_DIGEST_MISMATCH'],
    ['no-issuer-extension', 'ISSUER_MISMATCH'],
  ])('%s → %s', async (defect, code) => {
    const { ref } = await signedImage(defect, { defect });
    const result = await verifier.verify(ref, POLICY);
    expect(result.verified).toBe(false);
    expect(result.signatures).toHaveLength(1);
    expect(result.signatures[0]!.verified).toBe(false);
    expect(result.signatures[0]!.failure?.code).toBe(code);
    expect(result.error?.code).toBe(code);
    expect(result.error?.category).toBe('verification');
  });

  test('leaf without the codeSigning extended key usage → CERTIFICATE_CHAIN_INVALID', async () => {
    const r = repo('no-eku');
    const image = await pushTestImage(registry, r, 'v1');
    const layer = sigstore.signImage({
      digest: image.digest,
      identity: { email: SIGNER },
      issuer: ISSUER,
      certificate: { removeExtensions: ['2.5.29.37'] },
    });
    await pushSignatures(registry, r, image.digest, [layer]);
    const result = await verifier.verify(`${registry.host}/${r}:v1`, POLICY);
    expect(result.verified).toBe(false);
    expect(result.error?.code).toBe('CERTIFICATE_CHAIN_INVALID');
    expect(result.error?.message).toContain('codeSigning');
  });

  test('another identity → IDENTITY_MISMATCH, message names both', async () => {
    const { ref } = await signedImage('other-identity');
    const result = await verifier.verify(ref, { subject: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com', issuer: ISSUER });
    expect(result.error?.code).toBe('IDENTITY_MISMATCH');
    expect(result.error?.message).toContain(SIGNER);
    expect(result.error?.message).toContain('krel-trust@');
  });

  test('another issuer → ISSUER_MISMATCH', async () => {
    const { ref } = await signedImage('other-issuer');
    const result = await verifier.verify(ref, { subject: SIGNER, issuer: 'https://accounts.google.com' });
    expect(result.error?.code).toBe('ISSUER_MISMATCH');
  });

  test('signature without a Rekor entry → TLOG_ENTRY_MISSING', async () => {
    const r = repo('no-tlog');
    const image = await pushTestImage(registry, r, 'v1');
    await pushSignatures(registry, r, image.digest, [sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER, tlog: false })]);
    const result = await verifier.verify(`${registry.host}/${r}:v1`, POLICY);
    expect(result.error?.code).toBe('TLOG_ENTRY_MISSING');
    expect(result.error?.message).toContain('no transparency-log entry');
  });

  test('signatures from a different Sigstore instance → CERTIFICATE_CHAIN_INVALID', async () => {
    const other = sigstore.independentInstance();
    const r = repo('other-instance');
    const image = await pushTestImage(registry, r, 'v1');
    await pushSignatures(registry, r, image.digest, [other.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
    const result = await verifier.verify(`${registry.host}/${r}:v1`, POLICY);
    expect(result.verified).toBe(false);
    expect(result.error?.code).toBe('CERTIFICATE_CHAIN_INVALID');
  });

  test('unsigned image → NO_SIGNATURES', async () => {
    const r = repo('unsigned');
    const image = await pushTestImage(registry, r, 'v1');
    const result = await verifier.verify(`${registry.host}/${r}:v1`, POLICY);
    expect(result.verified).toBe(false);
    expect(result.digest).toBe(image.digest);
    expect(result.error?.code).toBe('NO_SIGNATURES');
    expect(result.error?.message).toContain(`sha256-${image.digest.slice(7)}.sig`);
  });

  test('a signature copied from another image → PAYLOAD_DIGEST_MISMATCH', async () => {
    const { image: signed } = await signedImage('original');
    const r = repo('copycat');
    const target = await pushTestImage(registry, r, 'v1');
    // The original image's genuine signature, placed under the other image's signature tag.
    await pushSignatures(registry, r, target.digest, [sigstore.signImage({ digest: signed.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
    const result = await verifier.verify(`${registry.host}/${r}:v1`, POLICY);
    expect(result.verified).toBe(false);
    expect(result.error?.code).toBe('PAYLOAD_DIGEST_MISMATCH');
    expect(result.error?.message).toContain(signed.digest);
  });

  test('image not found → IMAGE_NOT_FOUND (operational)', async () => {
    const result = await verifier.verify(`${registry.host}/${repo('missing')}:v1`, POLICY);
    expect(result.verified).toBe(false);
    expect(result.error?.code).toBe('IMAGE_NOT_FOUND');
    expect(result.error?.category).toBe('operational');
  });

  test('invalid reference → INVALID_REFERENCE in the result', async () => {
    const result = await verifier.verify('UPPER/case', POLICY);
    expect(result.error?.code).toBe('INVALID_REFERENCE');
  });

  test('an invalid policy throws INVALID_POLICY', async () => {
    await expect(verifier.verify('x/y', { subjectRegExp: '(', issuer: ISSUER })).rejects.toMatchObject({ code: 'INVALID_POLICY' });
  });
});

describe('hostile or failing registries', () => {
  let proxy: RunningProxy;
  let proxied: ImageVerifier;
  beforeAll(async () => {
    proxy = await startProxy(registry);
    proxied = createVerifier({ trustedRoot: sigstore.trustedRoot as unknown as Record<string, unknown>, registry: { retries: 1 } });
  });
  afterAll(async () => {
    await proxied?.close();
    await proxy?.stop();
  });
  afterEach(() => proxy.setHook(undefined));

  const tamper = (match: (path: string) => boolean) =>
    proxy.setHook(async (req, ctx) => {
      if (req.method !== 'GET' || !match(req.path)) return undefined;
      const res = await ctx.forward();
      if (res.status !== 200) return res;
      const body = Buffer.from(res.body);
      body[body.length - 2]! ^= 0x01;
      return { ...res, body };
    });

  test('image manifest bytes that do not match their digest → DIGEST_MISMATCH', async () => {
    const { repo: r, image } = await signedImage('tampered-manifest');
    expect(image.digest).toMatch(/^sha256:/);
    tamper((p) => p === `/v2/${r}/manifests/v1`);
    const byTag = await proxied.verify(`${proxy.host}/${r}:v1`, POLICY);
    expect(byTag.verified).toBe(false);
    expect(byTag.error?.code).toBe('DIGEST_MISMATCH');
    // By digest the image manifest is not fetched (the signature binds the digest), as in cosign.
    const byDigest = await proxied.verify(`${proxy.host}/${r}@${image.digest}`, POLICY);
    expect(byDigest.verified).toBe(true);
    expect(proxy.requests.some((q) => q.path === `/v2/${r}/manifests/${image.digest}`)).toBe(false);
  });

  test('signature manifest bytes that do not match → DIGEST_MISMATCH', async () => {
    const { repo: r, image } = await signedImage('tampered-sig-manifest');
    tamper((p) => p === `/v2/${r}/manifests/sha256-${image.digest.slice(7)}.sig`);
    const result = await proxied.verify(`${proxy.host}/${r}:v1`, POLICY);
    expect(result.verified).toBe(false);
    expect(result.error?.code).toBe('DIGEST_MISMATCH');
  });

  test('a signature blob whose bytes do not match its digest → DIGEST_MISMATCH for that signature', async () => {
    const { repo: r } = await signedImage('tampered-blob');
    tamper((p) => p.startsWith(`/v2/${r}/blobs/`));
    const result = await proxied.verify(`${proxy.host}/${r}:v1`, POLICY);
    expect(result.verified).toBe(false);
    expect(result.signatures[0]!.failure?.code).toBe('DIGEST_MISMATCH');
    expect(result.error?.code).toBe('DIGEST_MISMATCH');
  });

  test('a registry announcing a (correct) sha512 Docker-Content-Digest: the image digest stays the sha256 and it verifies (issue 14.2)', async () => {
    const { repo: r, image } = await signedImage('sha512-header');
    proxy.setHook(async (req, ctx) => {
      const res = await ctx.forward();
      if (req.path !== `/v2/${r}/manifests/v1` || res.status !== 200) return res;
      return { ...res, headers: { ...res.headers, 'docker-content-digest': `sha512:${createHash('sha512').update(res.body).digest('hex')}` } };
    });
    const result = await proxied.verify(`${proxy.host}/${r}:v1`, POLICY);
    expectVerified(result, image.digest);
    expect(proxy.requests.some((q) => q.path === `/v2/${r}/manifests/sha256-${image.digest.slice(7)}.sig`)).toBe(true);
  });

  test('a .sig manifest listing one signature layer many times: its blob is fetched once', async () => {
    const r = repo('dup-layers');
    const image = await pushTestImage(registry, r, 'v1');
    const layer = sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER });
    await pushSignatures(
      registry,
      r,
      image.digest,
      Array.from({ length: 20 }, () => layer),
    );
    const result = await proxied.verify(`${proxy.host}/${r}:v1`, POLICY);
    expectVerified(result, image.digest);
    expect(proxy.requests.filter((q) => q.path.startsWith(`/v2/${r}/blobs/`))).toHaveLength(1);
  });

  test('registry down → REGISTRY_UNREACHABLE (operational)', async () => {
    const down = await startProxy(undefined);
    const host = down.host;
    await down.stop();
    const result = await proxied.verify(`${host}/app:v1`, POLICY);
    expect(result.verified).toBe(false);
    expect(result.error?.code).toBe('REGISTRY_UNREACHABLE');
    expect(result.error?.category).toBe('operational');
  });

  test('a failing signature lookup (500) is an operational error, not "unsigned"', async () => {
    const { repo: r } = await signedImage('sig-500');
    proxy.setHook((req) => (req.path.endsWith('.sig') ? { status: 500, headers: {}, body: Buffer.from('boom') } : undefined));
    const result = await proxied.verify(`${proxy.host}/${r}:v1`, POLICY);
    expect(result.verified).toBe(false);
    expect(result.error?.category).toBe('operational');
  });
});
