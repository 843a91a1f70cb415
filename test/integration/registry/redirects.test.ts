import {
  closePushers,
  pushImage,
  startProxy,
  textReply,
  startRegistry,
  type PushedImage,
  type RunningProxy,
  type RunningRegistry,
} from '../../support/registry';
import { rejection, testClient } from './helpers';

describe('redirects and where credentials may go', () => {
  let registry: RunningRegistry;
  let front: RunningProxy;
  let storage: RunningProxy;
  let image: PushedImage;
  const user = { username: 'carol', password: 's3cret' };
  const ref = () => ({ registry: front.host, repository: 'cdn/app' });
  const creds = () => ({ [front.host]: user });

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: [user] });
    image = await pushImage(registry, 'cdn/app', 'v1');
    front = await startProxy(registry);
    // "Blob storage" on another origin: serves the blob bytes itself, like a signed S3 URL.
    storage = await startProxy(undefined, {
      onRequest: (req) => {
        const layer = image.layers.find((l) => req.path.endsWith(l.digest));
        return layer ? { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: layer.bytes } : textReply(404, 'no such object');
      },
    });
  });
  beforeEach(() => front.setHook(undefined));
  afterAll(async () => {
    await closePushers();
    await storage?.stop();
    await front?.stop();
    await registry?.stop();
  });

  it('does not send Authorization to a redirect target on another origin', async () => {
    front.setHook((req) =>
      req.path.includes('/blobs/')
        ? { status: 307, headers: { location: `${storage.url}/bucket/${req.path.split('/').pop()}?X-Amz-Signature=abc` }, body: Buffer.alloc(0) }
        : undefined,
    );
    const client = testClient({ credentials: creds() });
    try {
      const layer = image.layers[0]!;
      expect((await client.getBlob(ref(), layer.digest)).equals(layer.bytes)).toBe(true);
      const blobAtFront = front.requests.filter((r) => r.path.includes('/blobs/')).at(-1)!;
      expect(blobAtFront.headers.authorization).toMatch(/^Basic /);
      const atStorage = storage.requests.at(-1)!;
      expect(atStorage.url).toContain('X-Amz-Signature=abc');
      expect(atStorage.headers.authorization).toBeUndefined();
    } finally {
      await client.close();
    }
  });

  it('keeps Authorization on a redirect within the registry origin', async () => {
    front.setHook((req) =>
      req.path.includes('/blobs/') && !req.url.includes('moved=1')
        ? { status: 302, headers: { location: `${req.url}?moved=1` }, body: Buffer.alloc(0) }
        : undefined,
    );
    const client = testClient({ credentials: creds() });
    try {
      const layer = image.layers[0]!;
      expect((await client.getBlob(ref(), layer.digest)).equals(layer.bytes)).toBe(true);
      const moved = front.requests.filter((r) => r.url.includes('moved=1')).at(-1)!;
      expect(moved.headers.authorization).toMatch(/^Basic /);
    } finally {
      await client.close();
    }
  });

  it('refuses a redirect to plain http on a non-loopback host before connecting', async () => {
    front.setHook((req) =>
      req.path.includes('/blobs/') ? { status: 302, headers: { location: 'http://storage.example.invalid/blob' }, body: Buffer.alloc(0) } : undefined,
    );
    const client = testClient({ credentials: creds() });
    try {
      const err = await rejection(client.getBlob(ref(), image.layers[0]!.digest), 'INSECURE_REGISTRY_REFUSED');
      expect(err.message).toContain('http://storage.example.invalid/blob');
    } finally {
      await client.close();
    }
    // Allowed, the same redirect gets as far as name resolution: the refusal above came first.
    const allowed = testClient({ credentials: creds(), allowHttp: ['storage.example.invalid'], retries: 0 });
    try {
      const err = await rejection(allowed.getBlob(ref(), image.layers[0]!.digest), 'REGISTRY_UNREACHABLE');
      expect(err.message).toContain('storage.example.invalid');
    } finally {
      await allowed.close();
    }
  });

  it('refuses a token realm on plain http off loopback, and credentials there', async () => {
    const challenge = (realm: string) => (req: { path: string }) =>
      req.path.startsWith('/v2/cdn')
        ? { status: 401, headers: { 'www-authenticate': `Bearer realm="${realm}",service="x"` }, body: Buffer.alloc(0) }
        : undefined;
    front.setHook(challenge('http://auth.example.invalid/token'));
    const client = testClient();
    try {
      const err = await rejection(client.getManifest(ref(), 'v1'), 'INSECURE_REGISTRY_REFUSED');
      expect(err.message).toContain('token realm');
    } finally {
      await client.close();
    }
    const withCreds = testClient({ credentials: creds(), allowHttp: ['auth.example.invalid'] });
    try {
      const err = await rejection(withCreds.getManifest(ref(), 'v1'), 'INSECURE_REGISTRY_REFUSED');
      expect(err.message).toContain('refusing to send credentials over plain http');
    } finally {
      await withCreds.close();
    }
  });

  it('gives up on redirect loops', async () => {
    front.setHook((req) => (req.path.includes('/blobs/') ? { status: 302, headers: { location: req.url }, body: Buffer.alloc(0) } : undefined));
    const client = testClient({ credentials: creds() });
    try {
      const err = await rejection(client.getBlob(ref(), image.layers[0]!.digest), 'REGISTRY_ERROR');
      expect(err.message).toContain('more than 10 redirects');
    } finally {
      await client.close();
    }
  });
});
