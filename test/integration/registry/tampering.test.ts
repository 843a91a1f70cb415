import { createHash } from 'node:crypto';
import { type RegistryClient } from '../../../src/registry';
import {
  closePushers,
  jsonReply,
  pushImage,
  startProxy,
  startRegistry,
  type PushedImage,
  type RunningProxy,
  type RunningRegistry,
} from '../../support/registry';
import { rejection, testClient } from './helpers';

/** A registry that lies: a proxy rewrites what the real registry answers. */
describe('content a registry tampers with', () => {
  let registry: RunningRegistry;
  let proxy: RunningProxy;
  let client: RegistryClient;
  let image: PushedImage;
  const repo = () => ({ registry: proxy.host, repository: 'lab/app' });
  const flipLastByte = (body: Buffer) => {
    const copy = Buffer.from(body);
    copy[copy.length - 2]! ^= 0x01;
    return copy;
  };

  beforeAll(async () => {
    registry = await startRegistry();
    image = await pushImage(registry, 'lab/app', 'v1');
    proxy = await startProxy(registry);
  });
  beforeEach(() => {
    proxy.setHook(undefined);
    client = testClient();
  });
  afterEach(() => client.close());
  afterAll(async () => {
    await closePushers();
    await proxy?.stop();
    await registry?.stop();
  });

  it('by tag: bytes that do not match Docker-Content-Digest are DIGEST_MISMATCH', async () => {
    proxy.setHook(async (req, { forward }) => {
      if (!req.path.includes('/manifests/')) return undefined;
      const res = await forward();
      return { ...res, body: Buffer.from(res.body.toString().replace('"schemaVersion":2', '"schemaVersion":2 ')) };
    });
    const err = await rejection(client.getManifest(repo(), 'v1'), 'DIGEST_MISMATCH');
    expect(err.message).toContain(`manifest "v1" of ${proxy.host}/lab/app`);
    expect(err.message).toContain('Docker-Content-Digest');
    expect(err.details).toMatchObject({ expected: image.digest, announced: image.digest });
  });

  it('by tag: a wrong Docker-Content-Digest is DIGEST_MISMATCH', async () => {
    proxy.setHook(async (req, { forward }) => {
      const res = await forward();
      return req.path.includes('/manifests/') ? { ...res, headers: { ...res.headers, 'docker-content-digest': `sha256:${'1'.repeat(64)}` } } : res;
    });
    await rejection(client.getManifest(repo(), 'v1'), 'DIGEST_MISMATCH');
  });

  it('by tag without Docker-Content-Digest: the digest is computed from the bytes', async () => {
    let served: Buffer | undefined;
    proxy.setHook(async (req, { forward }) => {
      if (!req.path.includes('/manifests/')) return undefined;
      const res = await forward();
      const { ['docker-content-digest']: _dropped, ...headers } = res.headers;
      served = Buffer.from(res.body.toString().replace('"schemaVersion":2', '"schemaVersion":2 '));
      return { ...res, headers, body: served };
    });
    const m = await client.getManifest(repo(), 'v1');
    expect(m.digest).toBe(`sha256:${createHash('sha256').update(served!).digest('hex')}`);
    expect(m.digest).not.toBe(image.digest);
  });

  it('by tag: a sha512 Docker-Content-Digest is checked with sha512, but the digest returned is the sha256 of the bytes (issue 14.2)', async () => {
    const sha512 = `sha512:${createHash('sha512').update(image.bytes).digest('hex')}`;
    proxy.setHook(async (req, { forward }) => {
      const res = await forward();
      return req.path.includes('/manifests/') ? { ...res, headers: { ...res.headers, 'docker-content-digest': sha512 } } : res;
    });
    // The registry does not choose the image digest: signatures bind the sha256, as in cosign.
    expect((await client.getManifest(repo(), 'v1')).digest).toBe(image.digest);
    expect(image.digest).toMatch(/^sha256:/);
    // A digest the caller asks for keeps its algorithm (docker-registry stores by sha256 only:
    // the proxy serves the bytes).
    proxy.setHook((req) =>
      req.path.endsWith(`/manifests/${sha512}`) ? { status: 200, headers: { 'content-type': image.mediaType }, body: image.bytes } : undefined,
    );
    expect((await client.getManifest(repo(), sha512)).digest).toBe(sha512);
    proxy.setHook(async (req, { forward }) => {
      const res = await forward();
      return req.path.includes('/manifests/') ? { ...res, headers: { ...res.headers, 'docker-content-digest': sha512 }, body: flipLastByte(res.body) } : res;
    });
    await rejection(client.getManifest(repo(), 'v1'), 'DIGEST_MISMATCH');
  });

  it('by digest: tampered bytes are DIGEST_MISMATCH even with no digest header', async () => {
    proxy.setHook(async (req, { forward }) => {
      if (!req.path.includes('/manifests/')) return undefined;
      const res = await forward();
      const { ['docker-content-digest']: _dropped, ...headers } = res.headers;
      return { ...res, headers, body: flipLastByte(res.body) };
    });
    const err = await rejection(client.getManifest(repo(), image.digest), 'DIGEST_MISMATCH');
    expect(err.details).toMatchObject({ expected: image.digest, reference: image.digest });
  });

  it('by digest: a header agreeing with tampered bytes does not help', async () => {
    proxy.setHook(async (req, { forward }) => {
      if (!req.path.includes('/manifests/')) return undefined;
      const res = await forward();
      const body = flipLastByte(res.body);
      return { ...res, body, headers: { ...res.headers, 'docker-content-digest': `sha256:${createHash('sha256').update(body).digest('hex')}` } };
    });
    await rejection(client.getManifest(repo(), image.digest), 'DIGEST_MISMATCH');
  });

  it('a tampered blob is DIGEST_MISMATCH', async () => {
    proxy.setHook(async (req, { forward }) => {
      const res = await forward();
      return req.path.includes('/blobs/') ? { ...res, body: flipLastByte(res.body) } : res;
    });
    const layer = image.layers[0]!;
    const err = await rejection(client.getBlob(repo(), layer.digest), 'DIGEST_MISMATCH');
    expect(err.message).toContain(`blob ${layer.digest} of ${proxy.host}/lab/app`);
  });

  it('a body longer than its limit is cut off while streaming, whatever Content-Length says', async () => {
    proxy.setHook(async (req) => {
      if (!req.path.includes('/manifests/')) return undefined;
      return { status: 200, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: Buffer.alloc(64 * 1024, 0x20) };
    });
    const small = testClient({ maxManifestBytes: 1000 });
    try {
      await rejection(small.getManifest(repo(), 'v1'), 'SIZE_LIMIT_EXCEEDED');
    } finally {
      await small.close();
    }
  });

  it('content that is not a manifest is MALFORMED_CONTENT', async () => {
    const serve = (body: unknown, contentType = 'application/vnd.oci.image.manifest.v1+json') =>
      proxy.setHook((req) =>
        req.path.includes('/manifests/')
          ? { status: 200, headers: { 'content-type': contentType }, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) }
          : undefined,
      );
    serve('<html>login</html>', 'text/html');
    await rejection(client.getManifest(repo(), 'v1'), 'MALFORMED_CONTENT');
    serve({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: 'sha256:x' }, layers: [] });
    const err = await rejection(client.getManifest(repo(), 'v1'), 'MALFORMED_CONTENT');
    expect(err.message).toContain('config.mediaType');
    serve({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
    expect((await rejection(client.getManifest(repo(), 'v1'), 'MALFORMED_CONTENT')).message).toContain('not one that was asked for');
  });

  it('a caller may accept its own media types', async () => {
    const custom = 'application/vnd.example.thing+json';
    proxy.setHook((req) =>
      req.path.includes('/manifests/') ? jsonReply(200, { schemaVersion: 2, mediaType: custom, thing: 1 }, { 'content-type': custom }) : undefined,
    );
    await rejection(client.getManifest(repo(), 'v1'), 'MALFORMED_CONTENT');
    const m = await client.getManifest(repo(), 'v1', { accept: [custom] });
    expect([m.mediaType, m.kind, m.json.thing]).toEqual([custom, 'other', 1]);
    expect(proxy.requests.at(-1)?.headers.accept).toContain(custom);
  });
});
