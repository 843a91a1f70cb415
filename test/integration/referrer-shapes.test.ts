/**
 * Issues 9.1 and 9.2 against the real registry: cosign v3 bundles in every shape real tools
 * wrote them (see src/cosign/discover-referrers.ts for the table and sources), found by the
 * referrers tag schema (docker-registry 2.8 has no referrers API, like GHCR) and through a
 * proxy implementing the referrers API; and signatures that are listed but not served (a
 * half-replicated mirror: kubernetes/registry.k8s.io#324, kubernetes-sigs/promo-tools#1949),
 * one test per object kind, which are operational failures naming the object, never
 * "unsigned", unless another signature verifies.
 */
import { createVerifier, type ImageVerifier } from '../../src';
import { jsonReply, pushArtifact, pushIndex, startProxy, textReply, type RunningProxy, type RunningRegistry } from '../support/registry';
import { startVerificationEnvironment, type VerificationEnvironment } from '../support/environment';
import {
  BUNDLE_V03,
  COSIGN_SIGN_V1,
  OCI_EMPTY_TYPE,
  pushAnnotatedReferrers,
  pushBundleReferrers,
  pushCosign3FallbackReferrers,
  pushNewBundleFormatReferrers,
  signImageV3,
} from '../support/referrers';
import { placeManifest } from '../support/registry-storage';
import { pushAttestations, pushSignatures, pushTestImage } from '../support/signed-images';
import type { TestSigstore } from '../support/sigstore';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const POLICY = { subject: SIGNER, issuer: ISSUER };
const SLSA1 = 'https://slsa.dev/provenance/v1';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

let env: VerificationEnvironment | undefined;
let registry: RunningRegistry;
let sigstore: TestSigstore;
let proxy: RunningProxy;
let viaProxy: ImageVerifier;
let n = 0;

beforeAll(async () => {
  env = await startVerificationEnvironment();
  ({ registry, sigstore } = env);
  proxy = await startProxy(registry);
  viaProxy = createVerifier({ trustedRoot: sigstore.trustedRoot as unknown as Record<string, unknown>, registry: { retries: 0 } });
});
afterEach(() => proxy.setHook(undefined));
afterAll(async () => {
  await viaProxy?.close();
  await proxy?.stop();
  await env?.stop();
});

async function image() {
  const repo = `shapes/app-${++n}`;
  const pushed = await pushTestImage(registry, repo, 'v1');
  return { repo, pushed, ref: `${proxy.host}/${repo}:v1` };
}
const signature = (digest: string) => signImageV3(sigstore, { digest });
const fetchedManifests = (repo: string) => proxy.requests.filter((r) => r.path.startsWith(`/v2/${repo}/manifests/sha256:`)).map((r) => r.path.split('/').pop());

describe('9.1: bundles in every shape a listing has', () => {
  test('the canonical shape: typed descriptor, typed manifest → "artifact", from the tag schema', async () => {
    const { repo, pushed, ref } = await image();
    await pushBundleReferrers(registry, repo, pushed.descriptor, [signature(pushed.digest)]);
    const result = await viaProxy.verify(ref, POLICY);
    expect(result.verified).toBe(true);
    expect(result.signatures[0]!.referrer).toEqual({ listing: 'tag-schema', shape: 'artifact' });
  });

  test.each(['empty', 'absent'] as const)(
    'cosign 3.x fallback index via go-containerregistry < v0.22.1 (GHCR): descriptor artifactType %s → verified, shape "untyped-descriptor"',
    async (descriptorType) => {
      const { repo, pushed, ref } = await image();
      await pushCosign3FallbackReferrers(registry, repo, pushed.descriptor, [signature(pushed.digest)], descriptorType);
      const result = await viaProxy.verify(ref, POLICY);
      expect(result.error).toBeUndefined();
      expect(result.verified).toBe(true);
      expect(result.signatures).toHaveLength(1);
      expect(result.signatures[0]).toMatchObject({ source: 'referrer', verified: true, referrer: { listing: 'tag-schema', shape: 'untyped-descriptor' } });
    },
  );

  test('cosign 2.5/2.6 --new-bundle-format (no artifactType, empty config, one bundle layer), tag schema → verified, shape "bundle-layer"', async () => {
    const { repo, pushed, ref } = await image();
    await pushNewBundleFormatReferrers(registry, repo, pushed.descriptor, [signature(pushed.digest)]);
    const result = await viaProxy.verify(ref, POLICY);
    expect(result.verified).toBe(true);
    expect(result.signatures[0]!.referrer).toEqual({ listing: 'tag-schema', shape: 'bundle-layer' });
  });

  test('the same through a registry with the referrers API, which lists it under the empty type → verified, listing "referrers-api"', async () => {
    const { repo, pushed, ref } = await image();
    const [descriptor] = await pushNewBundleFormatReferrers(registry, repo, pushed.descriptor, [signature(pushed.digest)]);
    expect(descriptor!.artifactType).toBe(OCI_EMPTY_TYPE);
    proxy.setHook((req) =>
      req.path === `/v2/${repo}/referrers/${pushed.digest}`
        ? jsonReply(200, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descriptor] }, { 'content-type': OCI_INDEX })
        : undefined,
    );
    // A fresh verifier: the shared one has learnt that this registry has no referrers API.
    const withApi = createVerifier({ trustedRoot: sigstore.trustedRoot as unknown as Record<string, unknown> });
    try {
      const result = await withApi.verify(ref, POLICY);
      expect(result.verified).toBe(true);
      expect(result.signatures[0]!.referrer).toEqual({ listing: 'referrers-api', shape: 'bundle-layer' });
    } finally {
      await withApi.close();
    }
  });

  test('descriptors of other types (SBOM, Notation signature) are skipped without fetching; an untyped non-bundle is fetched and left out', async () => {
    const { repo, pushed, ref } = await image();
    const sbom = await pushArtifact(registry, repo, {
      artifactType: 'application/spdx+json',
      subject: pushed.descriptor,
      payload: Buffer.from('{}'),
      layerMediaType: 'application/spdx+json',
    });
    const notation = await pushArtifact(registry, repo, {
      artifactType: 'application/vnd.cncf.notary.signature',
      subject: pushed.descriptor,
      layerMediaType: 'application/jose+json',
    });
    const untypedSbom = await pushArtifact(registry, repo, {
      artifactType: undefined,
      subject: pushed.descriptor,
      payload: Buffer.from('{}'),
      layerMediaType: 'application/spdx+json',
    });
    const [bundle] = await pushNewBundleFormatReferrers(
      registry,
      repo,
      pushed.descriptor,
      [signature(pushed.digest)],
      [sbom.descriptor, notation.descriptor, untypedSbom.descriptor],
    );
    const result = await viaProxy.verify(ref, POLICY);
    expect(result.verified).toBe(true);
    expect(result.signatures).toHaveLength(1);
    const fetched = fetchedManifests(repo);
    expect(fetched).not.toContain(sbom.digest);
    expect(fetched).not.toContain(notation.digest);
    expect(fetched).toEqual(expect.arrayContaining([untypedSbom.digest, bundle!.digest]));
  });

  test('an image whose only untyped referrer is not a bundle has no signatures (NO_SIGNATURES), not a malformed one', async () => {
    const { repo, pushed, ref } = await image();
    const untyped = await pushArtifact(registry, repo, {
      artifactType: undefined,
      subject: pushed.descriptor,
      payload: Buffer.from('{}'),
      layerMediaType: 'application/spdx+json',
    });
    await pushIndex(registry, repo, pushed.digest.replace(':', '-'), [untyped.descriptor]);
    expect((await viaProxy.verify(ref, POLICY)).error?.code).toBe('NO_SIGNATURES');
  });

  test('a descriptor that claims to be a bundle but is not one is malformed (MALFORMED_CONTENT)', async () => {
    const { repo, pushed, ref } = await image();
    const fake = await pushArtifact(registry, repo, {
      artifactType: 'application/spdx+json',
      subject: pushed.descriptor,
      layerMediaType: 'application/spdx+json',
    });
    await pushIndex(registry, repo, pushed.digest.replace(':', '-'), [{ ...fake.descriptor, artifactType: BUNDLE_V03 }]);
    const result = await viaProxy.verify(ref, POLICY);
    expect(result.error?.code).toBe('MALFORMED_CONTENT');
    expect(result.error?.message).toContain('is not a Sigstore bundle');
  });

  test('dev.sigstore.bundle.predicateType annotations: verify() skips attestations without fetching, verifyAttestations() skips signatures', async () => {
    const { repo, pushed, ref } = await image();
    const [sig, att] = await pushAnnotatedReferrers(registry, repo, pushed.descriptor, [
      { bundle: signature(pushed.digest), predicateType: COSIGN_SIGN_V1 },
      { bundle: signImageV3(sigstore, { digest: pushed.digest, predicateType: SLSA1, predicate: { buildDefinition: {} } }), predicateType: SLSA1 },
    ]);
    const verified = await viaProxy.verify(ref, POLICY);
    expect(verified.verified).toBe(true);
    expect(verified.signatures).toHaveLength(1);
    expect(fetchedManifests(repo)).not.toContain(att!.digest);
    proxy.requests.splice(0);
    const attested = await viaProxy.verifyAttestations(ref, POLICY, { predicateType: 'slsaprovenance1' });
    expect(attested.verified).toBe(true);
    expect(fetchedManifests(repo)).not.toContain(sig!.digest);
  });

  test('untyped candidates count against the signature limit (fetching stays bounded)', async () => {
    const { repo, pushed } = await image();
    await pushNewBundleFormatReferrers(registry, repo, pushed.descriptor, [signature(pushed.digest), signature(pushed.digest), signature(pushed.digest)]);
    const bounded = createVerifier({ trustedRoot: sigstore.trustedRoot as unknown as Record<string, unknown>, maxSignatures: 2 });
    try {
      const result = await bounded.verify(`${registry.host}/${repo}:v1`, POLICY);
      expect(result.error?.code).toBe('SIZE_LIMIT_EXCEEDED');
      expect(result.error?.message).toContain('3 referrers that may be Sigstore bundles, more than the limit of 2');
    } finally {
      await bounded.close();
    }
  });
});

describe('9.2: listed but not served is an operational failure naming the object, unless another signature verifies', () => {
  const notServed = (match: (path: string) => boolean) =>
    proxy.setHook((req) => (match(req.path) ? jsonReply(404, { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] }) : undefined));

  test('a .sig layer blob the mirror does not serve: REGISTRY_ERROR naming the blob (exit 3), not NO_SIGNATURES', async () => {
    const { repo, pushed, ref } = await image();
    await pushSignatures(registry, repo, pushed.digest, [sigstore.signImage({ digest: pushed.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
    notServed((p) => p.startsWith(`/v2/${repo}/blobs/`));
    const result = await viaProxy.verify(ref, POLICY);
    expect(result.verified).toBe(false);
    expect(result.error?.code).toBe('REGISTRY_ERROR');
    expect(result.error?.category).toBe('operational');
    expect(result.error?.message).toContain(`:sha256-${pushed.digest.slice(7)}.sig layer 0 is listed but could not be fetched`);
    expect(result.error?.message).toMatch(/blob sha256:[0-9a-f]{64} of .*answered 404/);
  });

  test('a .att layer blob not served: the attestation verdict is operational too', async () => {
    const { repo, pushed, ref } = await image();
    const layer = sigstore.attestImage({ digest: pushed.digest, predicateType: SLSA1, predicate: {}, identity: { email: SIGNER }, issuer: ISSUER });
    await pushAttestations(registry, repo, pushed.digest, [layer]);
    notServed((p) => p.startsWith(`/v2/${repo}/blobs/`));
    const result = await viaProxy.verifyAttestations(ref, POLICY);
    expect(result.error?.category).toBe('operational');
    expect(result.error?.message).toContain('.att layer 0 is listed but could not be fetched');
  });

  test('a referrer manifest listed but not served: REGISTRY_ERROR naming it', async () => {
    const { repo, pushed, ref } = await image();
    const missing = { mediaType: OCI_MANIFEST, digest: `sha256:${'e'.repeat(64)}`, size: 100, artifactType: BUNDLE_V03 };
    placeManifest(
      registry.storageDir,
      repo,
      pushed.digest.replace(':', '-'),
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [missing] })),
    );
    const result = await viaProxy.verify(ref, POLICY);
    expect(result.error?.code).toBe('REGISTRY_ERROR');
    expect(result.error?.message).toContain(`@sha256:${'e'.repeat(64)} is listed but could not be fetched`);
    expect(result.error?.message).toContain('the registry does not serve its manifest');
  });

  test('a referrer bundle blob not served: REGISTRY_ERROR naming the blob', async () => {
    const { repo, pushed, ref } = await image();
    await pushBundleReferrers(registry, repo, pushed.descriptor, [signature(pushed.digest)]);
    notServed((p) => p.startsWith(`/v2/${repo}/blobs/`));
    const result = await viaProxy.verify(ref, POLICY);
    expect(result.error?.code).toBe('REGISTRY_ERROR');
    expect(result.signatures[0]!.referrer).toEqual({ listing: 'tag-schema', shape: 'artifact' });
    expect(result.error?.message).toMatch(/@sha256:[0-9a-f]{64} is listed but could not be fetched: blob sha256:/);
  });

  test('a 503 on a signature blob after retries is the same kind of failure', async () => {
    const { repo, pushed, ref } = await image();
    await pushSignatures(registry, repo, pushed.digest, [sigstore.signImage({ digest: pushed.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
    proxy.setHook((req) => (req.path.startsWith(`/v2/${repo}/blobs/`) ? textReply(503, 'unavailable') : undefined));
    const result = await viaProxy.verify(ref, POLICY);
    expect(result.error?.code).toBe('REGISTRY_ERROR');
    expect(result.error?.message).toContain('answered 503');
  });

  test('another signature verifies: verified, and the unreachable one is reported with its reason', async () => {
    const { repo, pushed, ref } = await image();
    await pushSignatures(registry, repo, pushed.digest, [sigstore.signImage({ digest: pushed.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
    const [bundle] = await pushBundleReferrers(registry, repo, pushed.descriptor, [signature(pushed.digest)]);
    // The referrer's manifest is served, its bundle blob is not; the .sig blob is.
    let bundleBlob: string | undefined;
    proxy.setHook(async (req, ctx) => {
      if (req.path === `/v2/${repo}/manifests/${bundle!.digest}`) {
        const res = await ctx.forward();
        bundleBlob = (JSON.parse(res.body.toString()) as { layers: Array<{ digest: string }> }).layers[0]!.digest;
        return res;
      }
      return bundleBlob !== undefined && req.path === `/v2/${repo}/blobs/${bundleBlob}` ? textReply(404, 'not here') : undefined;
    });
    const result = await viaProxy.verify(ref, POLICY);
    expect(result.verified).toBe(true);
    expect(result.signatures.map((s) => [s.source, s.verified, s.failure?.code])).toEqual([
      ['sig-tag', true, undefined],
      ['referrer', false, 'REGISTRY_ERROR'],
    ]);
  });
});
