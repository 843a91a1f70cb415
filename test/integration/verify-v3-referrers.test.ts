/**
 * cosign v3: Sigstore bundles v0.3 attached to images as OCI 1.1 referrers, against a real
 * registry (docker-registry 2.8: no referrers API, so through the referrers tag schema), and
 * through a proxy that implements the referrers API with pagination.
 */
import { createVerifier, type ImageVerifier } from '../../src';
import { jsonReply, startProxy, type RunningProxy, type RunningRegistry } from '../support/registry';
import { startVerificationEnvironment, type VerificationEnvironment } from '../support/environment';
import { BUNDLE_V03, pushBundleReferrers, signImageV3 } from '../support/referrers';
import { placeManifest } from '../support/registry-storage';
import { pushSignatures, pushTestImage } from '../support/signed-images';
import type { TestSigstore } from '../support/sigstore';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const POLICY = { subject: SIGNER, issuer: ISSUER };
const SLSA1 = 'https://slsa.dev/provenance/v1';

let registry: RunningRegistry;
let sigstore: TestSigstore;
let verifier: ImageVerifier;
let n = 0;

let env: VerificationEnvironment | undefined;
beforeAll(async () => {
  env = await startVerificationEnvironment();
  ({ registry, sigstore, verifier } = env);
});
afterAll(() => env?.stop());

async function image(name = 'app') {
  const repo = `v3/${name}-${++n}`;
  const pushed = await pushTestImage(registry, repo, 'v1');
  return { repo, pushed, ref: `${registry.host}/${repo}:v1` };
}

test('a cosign v3 signature (bundle v0.3 referrer, inclusion proof + checkpoint) verifies', async () => {
  const { repo, pushed, ref } = await image();
  await pushBundleReferrers(registry, repo, pushed.descriptor, [signImageV3(sigstore, { digest: pushed.digest })]);
  const result = await verifier.verify(ref, POLICY);
  expect(result.error).toBeUndefined();
  expect(result.verified).toBe(true);
  expect(result.signatures).toHaveLength(1);
  expect(result.signatures[0]).toMatchObject({ source: 'referrer', verified: true, signer: { subject: SIGNER, issuer: ISSUER }, signedDigest: pushed.digest });
  expect(result.signatures[0]!.location).toMatch(new RegExp(`^${registry.host}/${repo}@sha256:`));
});

test('inclusion proof and checkpoint alone (no SET) are not enough without a signing time: TIMESTAMP_INVALID', async () => {
  const { repo, pushed, ref } = await image();
  await pushBundleReferrers(registry, repo, pushed.descriptor, [signImageV3(sigstore, { digest: pushed.digest, inclusionPromise: false })]);
  const result = await verifier.verify(ref, POLICY);
  expect(result.verified).toBe(false);
  expect(result.error?.code).toBe('TIMESTAMP_INVALID');
});

test('an image with legacy and v3 signatures: both are found (in parallel) and reported with their source', async () => {
  const { repo, pushed, ref } = await image();
  await pushSignatures(registry, repo, pushed.digest, [sigstore.signImage({ digest: pushed.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  await pushBundleReferrers(registry, repo, pushed.descriptor, [signImageV3(sigstore, { digest: pushed.digest })]);
  const result = await verifier.verify(ref, POLICY);
  expect(result.verified).toBe(true);
  expect(result.signatures.map((s) => [s.source, s.verified])).toEqual([
    ['sig-tag', true],
    ['referrer', true],
  ]);
});

test('a v3 attestation verifies as an attestation (statement returned), and is not counted as a signature', async () => {
  const { repo, pushed, ref } = await image();
  await pushBundleReferrers(registry, repo, pushed.descriptor, [
    signImageV3(sigstore, { digest: pushed.digest, predicateType: SLSA1, predicate: { buildDefinition: { buildType: 'x' } } }),
  ]);
  const att = await verifier.verifyAttestations(ref, POLICY, { predicateType: 'slsaprovenance1' });
  expect(att.error).toBeUndefined();
  expect(att.verified).toBe(true);
  expect(att.attestations[0]).toMatchObject({ predicateType: SLSA1, statement: { predicate: { buildDefinition: { buildType: 'x' } } } });
  expect(att.attestations[0]!.signature.source).toBe('referrer');
  const sig = await verifier.verify(ref, POLICY);
  expect(sig.verified).toBe(false);
  expect(sig.error?.code).toBe('NO_SIGNATURES');
});

test('wrong predicate type for verify-attestation → PREDICATE_TYPE_MISMATCH', async () => {
  const { repo, pushed, ref } = await image();
  await pushBundleReferrers(registry, repo, pushed.descriptor, [signImageV3(sigstore, { digest: pushed.digest, predicateType: SLSA1 })]);
  const att = await verifier.verifyAttestations(ref, POLICY, { predicateType: 'spdxjson' });
  expect(att.error?.code).toBe('PREDICATE_TYPE_MISMATCH');
});

test('a statement about another image → PAYLOAD_DIGEST_MISMATCH', async () => {
  const { repo, pushed, ref } = await image();
  await pushBundleReferrers(registry, repo, pushed.descriptor, [signImageV3(sigstore, { digest: pushed.digest, defect: 'subject-other-digest' })]);
  const result = await verifier.verify(ref, POLICY);
  expect(result.error?.code).toBe('PAYLOAD_DIGEST_MISMATCH');
});

test('a genuine v3 signature of another image, attached here → PAYLOAD_DIGEST_MISMATCH', async () => {
  const other = await image('other');
  const { repo, pushed, ref } = await image();
  await pushBundleReferrers(registry, repo, pushed.descriptor, [signImageV3(sigstore, { digest: other.pushed.digest })]);
  expect((await verifier.verify(ref, POLICY)).error?.code).toBe('PAYLOAD_DIGEST_MISMATCH');
});

test('DSSE payload tampered after signing → TLOG_BODY_MISMATCH', async () => {
  const { repo, pushed, ref } = await image();
  await pushBundleReferrers(registry, repo, pushed.descriptor, [signImageV3(sigstore, { digest: pushed.digest, defect: 'tampered-payload' })]);
  expect((await verifier.verify(ref, POLICY)).error?.code).toBe('TLOG_BODY_MISMATCH');
});

test('a corrupted inclusion proof hash → TLOG_INCLUSION_PROOF_INVALID (the SET alone does not save it)', async () => {
  const { repo, pushed, ref } = await image();
  const bundle = signImageV3(sigstore, { digest: pushed.digest });
  const proof = bundle.verificationMaterial.tlogEntries[0].inclusionProof;
  expect(proof.hashes.length).toBeGreaterThan(0);
  const hash = Buffer.from(proof.hashes[0], 'base64');
  hash[0]! ^= 1;
  proof.hashes[0] = hash.toString('base64');
  await pushBundleReferrers(registry, repo, pushed.descriptor, [bundle]);
  expect((await verifier.verify(ref, POLICY)).error?.code).toBe('TLOG_INCLUSION_PROOF_INVALID');
});

test('a checkpoint signed by an unknown key → TLOG_INCLUSION_PROOF_INVALID', async () => {
  const { repo, pushed, ref } = await image();
  const bundle = signImageV3(sigstore, { digest: pushed.digest });
  const proof = bundle.verificationMaterial.tlogEntries[0].inclusionProof;
  // The same checkpoint (origin, size, root hash), signed by a key the trust root does not know.
  proof.checkpoint.envelope = sigstore.rekor.checkpoint(Number(proof.treeSize), 'unknown-key');
  await pushBundleReferrers(registry, repo, pushed.descriptor, [bundle]);
  expect((await verifier.verify(ref, POLICY)).error?.code).toBe('TLOG_INCLUSION_PROOF_INVALID');
});

test('another identity → IDENTITY_MISMATCH', async () => {
  const { repo, pushed, ref } = await image();
  await pushBundleReferrers(registry, repo, pushed.descriptor, [signImageV3(sigstore, { digest: pushed.digest, identity: { email: 'eve@example.test' } })]);
  expect((await verifier.verify(ref, POLICY)).error?.code).toBe('IDENTITY_MISMATCH');
});

test('a referrers index pointing at a missing manifest: that entry fails (REGISTRY_ERROR: listed, not served), the good one still verifies', async () => {
  const { repo, pushed, ref } = await image();
  const missing = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'e'.repeat(64)}`, size: 100, artifactType: BUNDLE_V03 };
  const [good] = await pushBundleReferrers(registry, repo, pushed.descriptor, [signImageV3(sigstore, { digest: pushed.digest })]);
  // The registry refuses an index naming a manifest it lacks; write the tag index into its storage.
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [good, missing] };
  placeManifest(registry.storageDir, repo, pushed.digest.replace(':', '-'), Buffer.from(JSON.stringify(index)));
  const result = await verifier.verify(ref, POLICY);
  expect(result.verified).toBe(true);
  const bad = result.signatures.find((s) => s.location.endsWith('e'.repeat(64)))!;
  expect(bad.failure?.code).toBe('REGISTRY_ERROR');
  expect(bad.failure?.message).toContain('does not serve its manifest');
});

test('a referrer manifest whose subject is another image → MALFORMED_CONTENT', async () => {
  const other = await image('other');
  const { repo, pushed, ref } = await image();
  // Pushed as a referrer of the other image, but listed under this image's referrers tag.
  const [descriptor] = await pushBundleReferrers(registry, repo, other.pushed.descriptor, [signImageV3(sigstore, { digest: pushed.digest })]);
  await pushBundleReferrers(registry, repo, pushed.descriptor, [], [descriptor!]);
  const result = await verifier.verify(ref, POLICY);
  expect(result.verified).toBe(false);
  expect(result.error?.code).toBe('MALFORMED_CONTENT');
  expect(result.error?.message).toContain('subject');
});

describe('through a registry with the referrers API (a proxy implementing it, paginated)', () => {
  let proxy: RunningProxy;
  let viaProxy: ImageVerifier;
  beforeAll(async () => {
    proxy = await startProxy(registry);
    viaProxy = createVerifier({ trustedRoot: sigstore.trustedRoot as unknown as Record<string, unknown>, registry: { retries: 0 } });
  });
  afterAll(async () => {
    await viaProxy?.close();
    await proxy?.stop();
  });
  afterEach(() => proxy.setHook(undefined));

  test('referrers listed by GET /v2/<repo>/referrers/<digest>, two pages', async () => {
    const { repo, pushed } = await image();
    const [one, two] = await pushBundleReferrers(registry, repo, pushed.descriptor, [
      signImageV3(sigstore, { digest: pushed.digest, identity: { email: 'eve@example.test' } }),
      signImageV3(sigstore, { digest: pushed.digest }),
    ]);
    const page = (manifests: unknown[]) => ({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
    proxy.setHook((req) => {
      if (req.path === `/v2/${repo}/referrers/${pushed.digest}`) {
        if (req.url.includes('page=2')) return jsonReply(200, page([two]), { 'content-type': 'application/vnd.oci.image.index.v1+json' });
        return jsonReply(200, page([one]), {
          'content-type': 'application/vnd.oci.image.index.v1+json',
          link: `</v2/${repo}/referrers/${pushed.digest}?page=2>; rel="next"`,
        });
      }
      return undefined;
    });
    const result = await viaProxy.verify(`${proxy.host}/${repo}:v1`, POLICY);
    expect(result.verified).toBe(true);
    expect(result.signatures.map((s) => s.verified)).toEqual([false, true]);
    expect(proxy.requests.some((r) => r.url.includes('page=2'))).toBe(true);
  });

  test('a listing naming one referrer 40 times: its manifest and bundle are fetched once, and it is reported once (issue 14.5)', async () => {
    const { repo, pushed } = await image();
    const [good] = await pushBundleReferrers(registry, repo, pushed.descriptor, [signImageV3(sigstore, { digest: pushed.digest })]);
    const page = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: Array.from({ length: 40 }, () => good) };
    proxy.setHook((req) =>
      req.path === `/v2/${repo}/referrers/${pushed.digest}` ? jsonReply(200, page, { 'content-type': 'application/vnd.oci.image.index.v1+json' }) : undefined,
    );
    const result = await viaProxy.verify(`${proxy.host}/${repo}:v1`, POLICY);
    expect(result.verified).toBe(true);
    expect(result.signatures.filter((s) => s.source === 'referrer')).toHaveLength(1);
    expect(proxy.requests.filter((r) => r.path === `/v2/${repo}/manifests/${good!.digest}`)).toHaveLength(1);
    expect(proxy.requests.filter((r) => r.path.startsWith(`/v2/${repo}/blobs/`))).toHaveLength(1);
  });

  test('a failing referrers listing (500) is an operational error, not "unsigned"', async () => {
    const { repo, pushed } = await image();
    await pushSignatures(registry, repo, pushed.digest, [sigstore.signImage({ digest: pushed.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
    proxy.setHook((req) => (req.path.includes('/referrers/') ? jsonReply(500, { errors: [{ code: 'UNKNOWN' }] }) : undefined));
    const result = await viaProxy.verify(`${proxy.host}/${repo}:v1`, POLICY);
    expect(result.verified).toBe(false);
    expect(result.error?.category).toBe('operational');
  });
});
