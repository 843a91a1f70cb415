/**
 * Finding cosign's legacy `.sig` / `.att` artifacts of a digest, over an in-memory registry:
 * a missing tag is "none", a bad layer fails that layer only, a registry that cannot answer
 * fails the whole lookup (never "none").
 */
import { ImgverifyError } from '../../../src/errors';
import { DEFAULT_MAX_SIGNATURES, fetchLegacyArtifacts } from '../../../src/cosign/discover-legacy';
import { digestOf, MemoryRegistry, OCI_CONFIG, OCI_MANIFEST } from '../../support/memory-registry';
import { buildSignatureManifest, createTestSigstore, generateKeyPair, type CosignLayer } from '../../support/sigstore';
import { rejection } from '../../support/errors';

const repo = { registry: 'registry.example.test', repository: 'team/app' };
const IMAGE = `sha256:${'ab'.repeat(32)}`;
const SIG_TAG = `sha256-${'ab'.repeat(32)}.sig`;
const ATT_TAG = `sha256-${'ab'.repeat(32)}.att`;
const LOCATION = `registry.example.test/team/app:${SIG_TAG}`;

const sigstore = createTestSigstore();
const key = generateKeyPair('ecdsa-p256');
const keyless = sigstore.signImage({ digest: IMAGE });
const keyed = sigstore.signImageWithKey({ digest: IMAGE, privateKey: key.privateKey, optional: { signer: 'release-key' } }); // a payload unlike keyless's

/** Pushes cosign's `.sig` image for `layers` (manifest under the tag, config and layer blobs). */
function pushSig(registry: MemoryRegistry, layers: CosignLayer[] = [keyless, keyed], tag = SIG_TAG): ReturnType<typeof buildSignatureManifest> {
  const sig = buildSignatureManifest(layers);
  for (const blob of sig.blobs) registry.putBlob(repo, blob.bytes);
  registry.putManifest(repo, JSON.parse(sig.manifest.toString('utf8')), tag);
  return sig;
}

/** A `.sig` manifest whose layers are these descriptors (blobs pushed separately). */
function manifestWith(layers: unknown[]): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: digestOf(Buffer.from('{}')), size: 2 }, layers };
}

test('the .sig image of a digest: every layer with its digest-checked blob, in manifest order', async () => {
  const registry = new MemoryRegistry();
  pushSig(registry);
  const found = await fetchLegacyArtifacts(registry, repo, IMAGE, 'sig');
  expect(found).not.toBeNull();
  expect(found!.location).toBe(LOCATION);
  expect(found!.layers.map((l) => [l.index, l.error, l.payload?.equals(l.index === 0 ? keyless.payload : keyed.payload)])).toEqual([
    [0, undefined, true],
    [1, undefined, true],
  ]);
  expect(found!.layers[0]!.descriptor).toMatchObject({ mediaType: keyless.mediaType, size: keyless.payload.length, digest: digestOf(keyless.payload) });
  expect(found!.layers[0]!.descriptor.annotations).toEqual(keyless.annotations);
});

test('.att: the attestation tag', async () => {
  const registry = new MemoryRegistry();
  const attestation = sigstore.attestImage({ digest: IMAGE, predicateType: 'https://slsa.dev/provenance/v1', predicate: {} });
  pushSig(registry, [attestation], ATT_TAG);
  expect(await fetchLegacyArtifacts(registry, repo, IMAGE, 'sig')).toBeNull();
  const found = await fetchLegacyArtifacts(registry, repo, IMAGE, 'att');
  expect(found!.location).toBe(`registry.example.test/team/app:${ATT_TAG}`);
  expect(found!.layers[0]!.payload!.equals(attestation.payload)).toBe(true);
});

test('no tag: null, and nothing else is fetched', async () => {
  const registry = new MemoryRegistry();
  pushSig(registry, [keyless], `sha256-${'cd'.repeat(32)}.sig`); // another image's signatures
  expect(await fetchLegacyArtifacts(registry, repo, IMAGE, 'sig')).toBeNull();
  expect(registry.requests).toEqual([`manifest registry.example.test/team/app:${SIG_TAG}`]);
});

test('an empty .sig image has no layers (the caller says there are no signatures)', async () => {
  const registry = new MemoryRegistry();
  registry.putManifest(repo, manifestWith([]), SIG_TAG);
  expect(await fetchLegacyArtifacts(registry, repo, IMAGE, 'sig')).toEqual({ location: LOCATION, layers: [] });
});

describe('a bad layer fails that layer only', () => {
  test('bytes that do not hash to the layer digest: DIGEST_MISMATCH', async () => {
    const registry = new MemoryRegistry();
    const sig = pushSig(registry);
    registry.putBlob(repo, Buffer.from(keyless.payload.toString('utf8').replace('critical', 'Critical')), undefined, digestOf(keyless.payload));
    const found = await fetchLegacyArtifacts(registry, repo, IMAGE, 'sig');
    expect(found!.layers[0]!.payload).toBeUndefined();
    expect(found!.layers[0]!.error?.code).toBe('DIGEST_MISMATCH');
    expect(found!.layers[1]!.payload!.equals(keyed.payload)).toBe(true);
    expect(sig.blobs.length).toBe(3);
  });

  test('a layer larger than the payload limit: SIZE_LIMIT_EXCEEDED, and its blob is never fetched', async () => {
    const registry = new MemoryRegistry();
    const big = registry.putBlob(repo, Buffer.alloc(2048, 0x20));
    const small = registry.putBlob(repo, keyed.payload, keyed.mediaType);
    registry.putManifest(repo, manifestWith([big, small]), SIG_TAG);
    const found = await fetchLegacyArtifacts(registry, repo, IMAGE, 'sig', { maxPayloadBytes: 1024 });
    expect(found!.layers[0]!.error?.code).toBe('SIZE_LIMIT_EXCEEDED');
    expect(found!.layers[0]!.error?.message).toBe(`${LOCATION} layer 0 is 2048 bytes, more than 1024`);
    expect(found!.layers[1]!.payload!.equals(keyed.payload)).toBe(true);
    expect(registry.requests).not.toContain(`blob registry.example.test/team/app@${big.digest}`);
  });

  test('a descriptor that understates the size: the download is bounded by the limit, not the descriptor', async () => {
    const registry = new MemoryRegistry();
    const bytes = Buffer.alloc(4096, 0x20);
    registry.putBlob(repo, bytes);
    registry.putManifest(repo, manifestWith([{ mediaType: 'text/plain', digest: digestOf(bytes), size: 10 }]), SIG_TAG);
    const found = await fetchLegacyArtifacts(registry, repo, IMAGE, 'sig', { maxPayloadBytes: 1024 });
    expect(found!.layers[0]!.error?.code).toBe('SIZE_LIMIT_EXCEEDED');
  });

  test('a blob of another length than its descriptor says: MALFORMED_CONTENT', async () => {
    const registry = new MemoryRegistry();
    const bytes = Buffer.from('payload');
    registry.putBlob(repo, bytes);
    registry.putManifest(repo, manifestWith([{ mediaType: 'text/plain', digest: digestOf(bytes), size: 70 }]), SIG_TAG);
    const found = await fetchLegacyArtifacts(registry, repo, IMAGE, 'sig');
    expect(found!.layers[0]!.error?.code).toBe('MALFORMED_CONTENT');
    expect(found!.layers[0]!.error?.message).toBe(`${LOCATION} layer 0: blob is 7 bytes, descriptor says 70`);
  });
});

describe('a layer the registry lists but does not serve fails on its own, as an operational failure (issue 9.2: never "unsigned")', () => {
  test('a registry that cannot serve a blob: that layer carries the error, the other layer its payload', async () => {
    const registry = new MemoryRegistry();
    pushSig(registry);
    const unreachable = new ImgverifyError('REGISTRY_UNREACHABLE', 'connect ECONNREFUSED');
    registry.fail(`blob registry.example.test/team/app@${digestOf(keyed.payload)}`, unreachable);
    const found = await fetchLegacyArtifacts(registry, repo, IMAGE, 'sig');
    expect(found!.layers[0]!.payload!.equals(keyless.payload)).toBe(true);
    expect(found!.layers[1]!.error).toBe(unreachable);
    expect(found!.layers[1]!.payload).toBeUndefined();
  });

  test('a blob the registry lists but does not have', async () => {
    const registry = new MemoryRegistry();
    registry.putManifest(repo, manifestWith([{ mediaType: 'text/plain', digest: digestOf(Buffer.from('gone')), size: 4 }]), SIG_TAG);
    const found = await fetchLegacyArtifacts(registry, repo, IMAGE, 'sig');
    expect(found!.layers[0]!.error?.code).toBe('IMAGE_NOT_FOUND');
    expect(found!.layers[0]!.error?.category).toBe('operational');
  });
});

describe('the whole lookup fails (never "none")', () => {
  test('more layers than cosign accepts: SIZE_LIMIT_EXCEEDED before any blob is fetched', async () => {
    const registry = new MemoryRegistry();
    const blob = registry.putBlob(repo, keyed.payload, keyed.mediaType);
    registry.putManifest(repo, manifestWith(Array.from({ length: DEFAULT_MAX_SIGNATURES + 1 }, () => blob)), SIG_TAG);
    const err = await rejection(fetchLegacyArtifacts(registry, repo, IMAGE, 'sig'));
    expect(err.code).toBe('SIZE_LIMIT_EXCEEDED');
    expect(err.message).toBe(`${LOCATION} has 51 layers, more than the limit of 50`);
    expect(registry.requests.filter((r) => r.startsWith('blob'))).toEqual([]);

    registry.putManifest(repo, manifestWith(Array.from({ length: DEFAULT_MAX_SIGNATURES }, () => blob)), SIG_TAG);
    expect((await fetchLegacyArtifacts(registry, repo, IMAGE, 'sig'))!.layers).toHaveLength(50);
    expect((await rejection(fetchLegacyArtifacts(registry, repo, IMAGE, 'sig', { maxSignatures: 3 }))).code).toBe('SIZE_LIMIT_EXCEEDED');
  });

  test('a registry that cannot serve the manifest', async () => {
    const registry = new MemoryRegistry();
    pushSig(registry);
    registry.fail(`manifest registry.example.test/team/app:${SIG_TAG}`, new ImgverifyError('REGISTRY_TIMEOUT', 'no answer'));
    expect((await rejection(fetchLegacyArtifacts(registry, repo, IMAGE, 'sig'))).code).toBe('REGISTRY_TIMEOUT');
  });

  test.each([
    ['not a JSON object', ['layers']],
    ['no layers', { schemaVersion: 2, config: { mediaType: OCI_CONFIG, digest: IMAGE, size: 2 } }],
    ['a layer without a digest', manifestWith([{ mediaType: 'text/plain', size: 2 }])],
    ['schema version 1', { ...manifestWith([]), schemaVersion: 1 }],
  ])('a manifest with %s: MALFORMED_CONTENT naming the tag', async (_name, manifest) => {
    const registry = new MemoryRegistry();
    registry.putManifest(repo, manifest, SIG_TAG);
    const err = await rejection(fetchLegacyArtifacts(registry, repo, IMAGE, 'sig'));
    expect(err.code).toBe('MALFORMED_CONTENT');
    expect(err.message).toContain(LOCATION);
  });
});
