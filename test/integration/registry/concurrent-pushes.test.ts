/**
 * Issue 20.19: the test support's pushes are safe under concurrency. docker-registry 2.8 can
 * fail one of two concurrent uploads of identical content (a red CI from a fixture: `manifest
 * PUT ... 400 DIGEST_INVALID / MANIFEST_BLOB_UNKNOWN` in referrers.test.ts's beforeAll, where two
 * artifacts upload the same empty `{}` config at once). The race is rare, so what is checked is
 * the property that removes it: through a proxy that watches the uploads, no blob is ever
 * uploaded twice at once to a registry, and one already in a repository is not uploaded again.
 */
import { randomBytes } from 'node:crypto';
import { testClient } from './helpers';
import {
  closePushers,
  pushArtifact,
  pushBlob,
  pushImage,
  sha256,
  startProxy,
  startRegistry,
  type RunningProxy,
  type RunningRegistry,
} from '../../support/registry';

let registry: RunningRegistry;
let proxy: RunningProxy;
/** Blob upload PUTs by digest: how many were received, and the most in flight at once. */
let uploads: Map<string, { received: number; inFlight: number; most: number }>;

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startProxy(registry);
});
beforeEach(() => {
  uploads = new Map();
  proxy.setHook(async (req, ctx) => {
    const digest = req.method === 'PUT' && req.path.includes('/blobs/uploads/') ? new URL(req.url, 'http://x').searchParams.get('digest') : null;
    if (digest === null) return undefined;
    const u = uploads.get(digest) ?? { received: 0, inFlight: 0, most: 0 };
    uploads.set(digest, u);
    u.received++;
    u.most = Math.max(u.most, ++u.inFlight);
    try {
      // Slow uploads: concurrent ones, if any, overlap.
      await new Promise((r) => setTimeout(r, 20));
      return await ctx.forward();
    } finally {
      u.inFlight--;
    }
  });
});
afterAll(async () => {
  await closePushers();
  await proxy?.stop();
  await registry?.stop();
});

test('20 artifacts pushed at once to one repository: their shared config blob is uploaded once, and every artifact lands', async () => {
  const image = await pushImage(proxy, 'race/app', 'v1');
  const pushed = await Promise.all(
    Array.from({ length: 20 }, (_, i) => pushArtifact(proxy, 'race/app', { artifactType: `application/vnd.example.${i}`, subject: image.descriptor })),
  );
  expect(uploads.get(sha256(Buffer.from('{}')))).toMatchObject({ received: 1, most: 1 });
  const client = testClient();
  try {
    for (const p of pushed) expect((await client.getManifest({ registry: registry.host, repository: 'race/app' }, p.digest)).digest).toBe(p.digest);
  } finally {
    await client.close();
  }
});

test('the same blob pushed at once to three repositories, ten times each: one upload at a time, one per repository, and each has it', async () => {
  const bytes = randomBytes(4096);
  const repos = ['race/a', 'race/b', 'race/c'];
  const digests = await Promise.all(repos.flatMap((repo) => Array.from({ length: 10 }, () => pushBlob(proxy, repo, bytes))));
  expect(new Set(digests).size).toBe(1);
  expect(uploads.get(digests[0]!)).toEqual({ received: 3, inFlight: 0, most: 1 });
  const client = testClient();
  try {
    for (const repo of repos) expect((await client.getBlob({ registry: registry.host, repository: repo }, digests[0]!)).equals(bytes)).toBe(true);
  } finally {
    await client.close();
  }
});
