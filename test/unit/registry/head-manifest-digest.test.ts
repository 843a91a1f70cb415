/** headManifestDigest: a tag's digest from a HEAD's Docker-Content-Digest, sha256 only (the registry's claim, verified later by digest). */
import { ImgverifyError } from '../../../src/errors';
import { headManifestDigest } from '../../../src/registry/manifest';
import type { RegistryGet, RegistryResponse, RegistryTransport } from '../../../src/registry/transport/transport';

const REPO = { registry: 'registry.test', repository: 'team/app' };
const D = `sha256:${'a'.repeat(64)}`;

function transport(headers: Record<string, string>, sent: RegistryGet[] = []): RegistryTransport {
  const response: RegistryResponse = {
    status: 200,
    url: new URL('https://registry.test/v2/team/app/manifests/v1'),
    body: Buffer.alloc(0),
    header: (n) => headers[n],
    headerValues: (n) => (headers[n] ? [headers[n]] : []),
  };
  return { get: (req: RegistryGet) => (sent.push(req), Promise.resolve(response)) } as unknown as RegistryTransport;
}

describe('headManifestDigest', () => {
  it('sends a HEAD for the tag with the manifest types, and takes a sha256 Docker-Content-Digest', async () => {
    const sent: RegistryGet[] = [];
    expect(await headManifestDigest(transport({ 'docker-content-digest': ` ${D} ` }, sent), REPO, 'v1', { maxBytes: 1024 })).toBe(D);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ method: 'HEAD', path: '/v2/team/app/manifests/v1', notFound: 'IMAGE_NOT_FOUND' });
    expect(sent[0]!.accept!.length).toBeGreaterThan(0);
  });

  it('answers undefined (the caller GETs and hashes) for no digest, another algorithm or a malformed one', async () => {
    for (const headers of [
      {},
      { 'docker-content-digest': `sha512:${'a'.repeat(128)}` },
      { 'docker-content-digest': 'sha256:xyz' },
      { 'docker-content-digest': `sha256:${'A'.repeat(64)}` },
    ]) {
      expect(await headManifestDigest(transport(headers), REPO, 'v1', { maxBytes: 1024 })).toBeUndefined();
    }
  });

  it('refuses a digest where a tag is expected (it goes into the URL path)', async () => {
    await expect(headManifestDigest(transport({}), REPO, D, { maxBytes: 1024 })).rejects.toThrow(ImgverifyError);
    await expect(headManifestDigest(transport({}), REPO, '../x', { maxBytes: 1024 })).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
  });
});
