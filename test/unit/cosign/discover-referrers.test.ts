/**
 * Finding cosign v3 bundles among the OCI referrers of a digest, over an in-memory registry:
 * each listed manifest is fetched by digest and must be a bundle artifact about this image;
 * one that is not fails on its own, a registry that cannot answer fails the lookup.
 */
import { ImgverifyError } from '../../../src/errors';
import { BUNDLE_V03_MEDIA_TYPE, fetchReferrerBundles } from '../../../src/cosign/discover-referrers';
import { signImageV3 } from '../../support/referrers';
import { digestOf, MemoryRegistry, OCI_EMPTY, OCI_MANIFEST, type PushedDescriptor } from '../../support/memory-registry';
import { createTestSigstore } from '../../support/sigstore';
import { rejection } from '../../support/errors';

const repo = { registry: 'registry.example.test', repository: 'team/app' };
const IMAGE = `sha256:${'ab'.repeat(32)}`;
const OTHER_IMAGE = `sha256:${'cd'.repeat(32)}`;
const EMPTY = Buffer.from('{}');

const sigstore = createTestSigstore();
const bundleBytes = Buffer.from(JSON.stringify(signImageV3(sigstore, { digest: IMAGE })));

interface ArtifactShape {
  artifactType?: string | undefined;
  configMediaType?: string;
  layerMediaTypes?: string[];
  subject?: string | undefined;
  bundle?: Buffer;
}

/** Pushes a referrer artifact as cosign v3 does (empty config, one bundle layer, subject = image); returns its descriptor. */
function pushReferrer(registry: MemoryRegistry, shape: ArtifactShape = {}): PushedDescriptor {
  const bundle = shape.bundle ?? bundleBytes;
  const config = registry.putBlob(repo, EMPTY, shape.configMediaType ?? OCI_EMPTY);
  const layers = (shape.layerMediaTypes ?? [BUNDLE_V03_MEDIA_TYPE]).map((mediaType) => registry.putBlob(repo, bundle, mediaType));
  const subject = 'subject' in shape ? shape.subject : IMAGE;
  const artifactType = 'artifactType' in shape ? shape.artifactType : BUNDLE_V03_MEDIA_TYPE;
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    ...(artifactType !== undefined ? { artifactType } : {}),
    config,
    layers,
    ...(subject !== undefined ? { subject: { mediaType: OCI_MANIFEST, digest: subject, size: 1234 } } : {}),
  };
  const { bytes: _bytes, ...descriptor } = registry.putManifest(repo, manifest);
  return { ...descriptor, ...(artifactType !== undefined ? { artifactType } : {}) };
}

test('no referrers: none', async () => {
  const registry = new MemoryRegistry();
  expect(await fetchReferrerBundles(registry, repo, IMAGE)).toEqual([]);
  expect(registry.requests).toEqual([`referrers registry.example.test/team/app@${IMAGE}`]);
});

test('each listed bundle artifact: its bundle bytes, fetched by digest', async () => {
  const registry = new MemoryRegistry();
  const second = Buffer.from(JSON.stringify(signImageV3(sigstore, { digest: IMAGE, identity: { email: 'other@example.test' } })));
  const a = pushReferrer(registry);
  const b = pushReferrer(registry, { bundle: second });
  registry.setReferrers(repo, IMAGE, [a, b]);
  const found = await fetchReferrerBundles(registry, repo, IMAGE);
  expect(found.map((f) => [f.location, f.descriptor.digest, f.error])).toEqual([
    [`registry.example.test/team/app@${a.digest}`, a.digest, undefined],
    [`registry.example.test/team/app@${b.digest}`, b.digest, undefined],
  ]);
  expect(found[0]!.bundle!.equals(bundleBytes)).toBe(true);
  expect(found[1]!.bundle!.equals(second)).toBe(true);
  expect(registry.requests).toContain(`manifest registry.example.test/team/app@${a.digest}`);
});

test.each([
  ['no artifactType, the bundle type as config media type (OCI 1.0 registries)', { artifactType: undefined, configMediaType: BUNDLE_V03_MEDIA_TYPE }],
  ['one bundle layer beside other layers', { layerMediaTypes: ['text/plain', BUNDLE_V03_MEDIA_TYPE] }],
])('accepted: %s', async (_name, shape: ArtifactShape) => {
  const registry = new MemoryRegistry();
  registry.setReferrers(repo, IMAGE, [pushReferrer(registry, shape)]);
  const [found] = await fetchReferrerBundles(registry, repo, IMAGE);
  expect(found!.error).toBeUndefined();
  expect(found!.bundle!.equals(bundleBytes)).toBe(true);
});

describe('a referrer that cannot be a signature of the image fails on its own', () => {
  test.each<[string, ArtifactShape, string, RegExp]>([
    ['a subject that is another image', { subject: OTHER_IMAGE }, 'MALFORMED_CONTENT', new RegExp(`its subject is ${OTHER_IMAGE}, not the image ${IMAGE}`)],
    ['no subject', { subject: undefined }, 'MALFORMED_CONTENT', /its subject is missing/],
    ['no bundle layer', { layerMediaTypes: ['application/json'] }, 'MALFORMED_CONTENT', /has 0 bundle layers, expected 1/],
    ['two bundle layers', { layerMediaTypes: [BUNDLE_V03_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE] }, 'MALFORMED_CONTENT', /has 2 bundle layers, expected 1/],
  ])('%s', async (_name, shape, code, message) => {
    const registry = new MemoryRegistry();
    const good = pushReferrer(registry);
    const bad = pushReferrer(registry, shape);
    registry.setReferrers(repo, IMAGE, [bad, good]);
    const [first, second] = await fetchReferrerBundles(registry, repo, IMAGE);
    expect(first!.bundle).toBeUndefined();
    expect(first!.error?.code).toBe(code);
    expect(first!.error?.message).toMatch(new RegExp(`^referrer registry\\.example\\.test/team/app@${bad.digest}: `));
    expect(first!.error?.message).toMatch(message);
    expect(second!.bundle!.equals(bundleBytes)).toBe(true);
  });

  test('a listed manifest the registry does not serve: an operational failure of that referrer (issue 9.2), never "none"', async () => {
    const registry = new MemoryRegistry();
    const missing = { mediaType: OCI_MANIFEST, digest: digestOf(Buffer.from('nothing')), size: 7 };
    registry.setReferrers(repo, IMAGE, [missing]);
    const [found] = await fetchReferrerBundles(registry, repo, IMAGE);
    expect(found!.error?.code).toBe('REGISTRY_ERROR');
    expect(found!.error?.message).toMatch(/listed as a referrer, but the registry does not serve its manifest/);
  });

  test('a listed manifest that is not a manifest', async () => {
    const registry = new MemoryRegistry();
    const { bytes: _b, ...descriptor } = registry.putManifest(repo, ['not', 'a', 'manifest']);
    registry.setReferrers(repo, IMAGE, [descriptor]);
    const [found] = await fetchReferrerBundles(registry, repo, IMAGE);
    expect(found!.error?.code).toBe('MALFORMED_CONTENT');
  });

  test('a bundle larger than the payload limit: SIZE_LIMIT_EXCEEDED, never downloaded', async () => {
    const registry = new MemoryRegistry();
    const referrer = pushReferrer(registry);
    registry.setReferrers(repo, IMAGE, [referrer]);
    const [found] = await fetchReferrerBundles(registry, repo, IMAGE, { maxPayloadBytes: 100 });
    expect(found!.error?.code).toBe('SIZE_LIMIT_EXCEEDED');
    expect(found!.error?.message).toBe(`referrer registry.example.test/team/app@${referrer.digest}: bundle is ${bundleBytes.length} bytes, more than 100`);
    expect(registry.requests).not.toContain(`blob registry.example.test/team/app@${digestOf(bundleBytes)}`);
  });

  test('bundle bytes that do not hash to the layer digest: DIGEST_MISMATCH', async () => {
    const registry = new MemoryRegistry();
    registry.setReferrers(repo, IMAGE, [pushReferrer(registry)]);
    registry.putBlob(repo, Buffer.concat([bundleBytes, Buffer.from('\n')]), undefined, digestOf(bundleBytes));
    const [found] = await fetchReferrerBundles(registry, repo, IMAGE);
    expect(found!.bundle).toBeUndefined();
    expect(found!.error?.code).toBe('DIGEST_MISMATCH');
  });
});

describe('what is not a Sigstore bundle is left out, never fetched when the listing says so (issue 9.1)', () => {
  test('another artifact type: skipped without fetching', async () => {
    const registry = new MemoryRegistry();
    const good = pushReferrer(registry);
    const sbom = pushReferrer(registry, { artifactType: 'application/spdx+json' });
    registry.setReferrers(repo, IMAGE, [{ ...sbom, artifactType: 'application/spdx+json' }, good]);
    const found = await fetchReferrerBundles(registry, repo, IMAGE);
    expect(found.map((f) => f.descriptor.digest)).toEqual([good.digest]);
    expect(registry.requests).not.toContain(`manifest registry.example.test/team/app@${sbom.digest}`);
  });

  test('no artifact type and a plain config: fetched (it may be a bundle), then left out silently', async () => {
    const registry = new MemoryRegistry();
    const good = pushReferrer(registry);
    const plain = pushReferrer(registry, { artifactType: undefined, layerMediaTypes: ['application/json', 'text/plain'] });
    registry.setReferrers(repo, IMAGE, [plain, good]);
    const found = await fetchReferrerBundles(registry, repo, IMAGE);
    expect(found.map((f) => f.descriptor.digest)).toEqual([good.digest]);
  });

  test('a registry that cannot serve a listed manifest or its bundle: that referrer fails as operational, the lookup goes on', async () => {
    const registry = new MemoryRegistry();
    const referrer = pushReferrer(registry);
    registry.setReferrers(repo, IMAGE, [referrer]);
    registry.fail(`blob registry.example.test/team/app@${digestOf(bundleBytes)}`, new ImgverifyError('REGISTRY_UNREACHABLE', 'reset'));
    expect((await fetchReferrerBundles(registry, repo, IMAGE))[0]!.error?.code).toBe('REGISTRY_UNREACHABLE');
    registry.fail(`manifest registry.example.test/team/app@${referrer.digest}`, new ImgverifyError('REGISTRY_TIMEOUT', 'slow'));
    await expect(fetchReferrerBundles(registry, repo, IMAGE)).rejects.toMatchObject({ code: 'REGISTRY_TIMEOUT' });
  });
});

describe('the whole lookup fails (never "none")', () => {
  test('a listing that fails', async () => {
    const registry = new MemoryRegistry();
    const error = new ImgverifyError('REGISTRY_ERROR', 'HTTP 500 listing referrers');
    registry.fail(`referrers registry.example.test/team/app@${IMAGE}`, error);
    await expect(fetchReferrerBundles(registry, repo, IMAGE)).rejects.toBe(error);
  });

  test('more referrers than the signature limit: SIZE_LIMIT_EXCEEDED before any is fetched (one listed many times counts once)', async () => {
    const registry = new MemoryRegistry();
    const referrers = Array.from({ length: 4 }, (_, i) =>
      pushReferrer(registry, { bundle: Buffer.from(JSON.stringify(signImageV3(sigstore, { digest: IMAGE, identity: { email: `s${i}@example.test` } }))) }),
    );
    registry.setReferrers(repo, IMAGE, [...referrers, ...referrers], 'tag-schema');
    const err = await rejection(fetchReferrerBundles(registry, repo, IMAGE, { maxSignatures: 3 }));
    expect(err.code).toBe('SIZE_LIMIT_EXCEEDED');
    expect(err.message).toBe(`registry.example.test/team/app@${IMAGE} has 4 referrers that may be Sigstore bundles, more than the limit of 3`);
    expect(registry.requests.filter((r) => !r.startsWith('referrers'))).toEqual([]);
    expect(await fetchReferrerBundles(registry, repo, IMAGE, { maxSignatures: 4 })).toHaveLength(4);
  });
});
