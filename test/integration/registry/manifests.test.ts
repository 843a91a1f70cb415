import { createHash } from 'node:crypto';
import { type RegistryClient } from '../../../src/registry';
import { closePushers, pushImage, pushIndex, startRegistry, type PushedImage, type RunningRegistry } from '../../support/registry';
import { rejection, testClient } from './helpers';

describe('manifests and blobs from docker-registry 2.8', () => {
  let registry: RunningRegistry;
  let client: RegistryClient;
  let oci: PushedImage;
  let docker: PushedImage;
  let deep: PushedImage;
  const repo = (repository: string) => ({ registry: registry.host, repository });

  beforeAll(async () => {
    registry = await startRegistry();
    [oci, docker, deep] = await Promise.all([
      pushImage(registry, 'team/app', 'oci', { layers: 2 }),
      pushImage(registry, 'team/app', 'docker', { format: 'docker' }),
      pushImage(registry, 'a/b/c/d', 'v1'),
    ]);
    client = testClient();
  });
  afterAll(async () => {
    await client?.close();
    await closePushers();
    await registry?.stop();
  });

  it('resolves a tag to the digest of the OCI manifest bytes', async () => {
    const m = await client.getManifest(repo('team/app'), 'oci');
    expect(m.digest).toBe(oci.digest);
    expect(m.bytes.equals(oci.bytes)).toBe(true);
    expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(m.content.kind === 'image' && m.content.layers.map((l) => l.digest)).toEqual(oci.layers.map((l) => l.digest));
    expect(m.json.schemaVersion).toBe(2);
  });

  it('resolves a Docker v2 manifest', async () => {
    const m = await client.getManifest(repo('team/app'), 'docker');
    expect([m.digest, m.mediaType, m.kind]).toEqual([docker.digest, 'application/vnd.docker.distribution.manifest.v2+json', 'image']);
  });

  it('resolves OCI indexes and Docker manifest lists', async () => {
    const arm = await pushImage(registry, 'team/multi', undefined, { platform: { os: 'linux', architecture: 'arm64' } });
    const amd = await pushImage(registry, 'team/multi', undefined, { platform: { os: 'linux', architecture: 'amd64' } });
    const index = await pushIndex(registry, 'team/multi', 'v1', [arm.descriptor, amd.descriptor]);
    const m = await client.getManifest(repo('team/multi'), 'v1');
    expect([m.digest, m.kind]).toEqual([index.digest, 'index']);
    expect(m.content.kind === 'index' && m.content.manifests.map((d) => [d.digest, d.platform?.architecture])).toEqual([
      [arm.digest, 'arm64'],
      [amd.digest, 'amd64'],
    ]);

    const dockerArm = await pushImage(registry, 'team/multi', undefined, { format: 'docker' });
    const list = await pushIndex(registry, 'team/multi', 'docker-list', [dockerArm.descriptor], { format: 'docker' });
    const l = await client.getManifest(repo('team/multi'), 'docker-list');
    expect([l.digest, l.mediaType]).toEqual([list.digest, 'application/vnd.docker.distribution.manifest.list.v2+json']);
  });

  it('fetches a manifest by digest', async () => {
    const m = await client.getManifest(repo('team/app'), oci.digest);
    expect(m.digest).toBe(oci.digest);
    expect(createHash('sha256').update(m.bytes).digest('hex')).toBe(oci.digest.slice(7));
  });

  it('fetches blobs, verified', async () => {
    const layer = oci.layers[1]!;
    expect((await client.getBlob(repo('team/app'), layer.digest)).equals(layer.bytes)).toBe(true);
    expect((await client.getBlob(repo('team/app'), oci.config.digest)).equals(oci.config.bytes)).toBe(true);
  });

  it('works with deep repository paths', async () => {
    expect((await client.getManifest(repo('a/b/c/d'), 'v1')).digest).toBe(deep.digest);
    expect((await client.getBlob(repo('a/b/c/d'), deep.layers[0]!.digest)).length).toBe(512);
  });

  it('findManifest resolves to null for a missing tag, getManifest throws IMAGE_NOT_FOUND', async () => {
    expect(await client.findManifest(repo('team/app'), 'sha256-0000.sig')).toBeNull();
    expect(await client.findManifest(repo('no/such/repo'), 'v1')).toBeNull();
    const err = await rejection(client.getManifest(repo('team/app'), 'missing'), 'IMAGE_NOT_FOUND');
    expect(err.message).toContain(`manifest "missing" of ${registry.host}/team/app`);
    expect(err.message).toContain('/v2/team/app/manifests/missing');
    expect(err.message).toContain('MANIFEST_UNKNOWN');
    expect(err.details).toMatchObject({ registry: registry.host, repository: 'team/app', reference: 'missing', status: 404 });
    const noRepo = await rejection(client.getManifest(repo('no/such/repo'), 'v1'), 'IMAGE_NOT_FOUND');
    expect(noRepo.message).toMatch(/NAME_UNKNOWN|MANIFEST_UNKNOWN/);
  });

  it('reports a blob the registry cannot serve as a registry error', async () => {
    const err = await rejection(client.getBlob(repo('team/app'), `sha256:${'0'.repeat(64)}`), 'REGISTRY_ERROR');
    expect(err.message).toContain('BLOB_UNKNOWN');
  });

  it('refuses manifests and blobs larger than the limits', async () => {
    const small = testClient({ maxManifestBytes: 100, maxBlobBytes: 100 });
    try {
      const err = await rejection(small.getManifest(repo('team/app'), 'oci'), 'SIZE_LIMIT_EXCEEDED');
      expect(err.message).toContain('100-byte limit');
      await rejection(small.getBlob(repo('team/app'), oci.layers[0]!.digest), 'SIZE_LIMIT_EXCEEDED');
      // A per-call bound overrides the client's.
      expect((await small.getBlob(repo('team/app'), oci.layers[0]!.digest, { maxBytes: 512 })).length).toBe(512);
      await rejection(client.getBlob(repo('team/app'), oci.layers[0]!.digest, { maxBytes: 511 }), 'SIZE_LIMIT_EXCEEDED');
    } finally {
      await small.close();
    }
  });
});
