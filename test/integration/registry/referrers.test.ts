import {
  closePushers,
  jsonReply,
  pushArtifact,
  pushImage,
  pushIndex,
  startProxy,
  startRegistry,
  textReply,
  type PushedImage,
  type PushedManifest,
  type ProxyRequest,
  type RunningProxy,
  type RunningRegistry,
} from '../../support/registry';
import { referrersTag } from '../../../src/registry';
import { rejection, testClient } from './helpers';

const SIG = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SBOM = 'application/spdx+json';

describe('referrers', () => {
  let registry: RunningRegistry;
  let proxy: RunningProxy;
  let image: PushedImage;
  let unsigned: PushedImage;
  let sig: PushedManifest;
  let sbom: PushedManifest;

  beforeAll(async () => {
    registry = await startRegistry();
    [image, unsigned] = await Promise.all([pushImage(registry, 'sig/app', 'v1'), pushImage(registry, 'sig/app', 'v2')]);
    [sig, sbom] = await Promise.all([
      pushArtifact(registry, 'sig/app', { artifactType: SIG, subject: image.descriptor, annotations: { 'dev.sigstore.bundle.predicateType': 'x' } }),
      pushArtifact(registry, 'sig/app', { artifactType: SBOM, subject: image.descriptor }),
    ]);
    // docker-registry 2.8 has no referrers API: clients keep the list at the referrers tag.
    await pushIndex(registry, 'sig/app', referrersTag(image.digest), [sig.descriptor, sbom.descriptor]);
    proxy = await startProxy(registry);
  });
  beforeEach(() => proxy.setHook(undefined));
  afterAll(async () => {
    await closePushers();
    await proxy?.stop();
    await registry?.stop();
  });

  describe('on a registry without the referrers API', () => {
    const ref = () => ({ registry: registry.host, repository: 'sig/app' });

    it('falls back to the referrers tag and filters by artifactType', async () => {
      const client = testClient();
      try {
        const all = await client.listReferrers(ref(), image.digest);
        expect(all.source).toBe('tag-schema');
        expect(all.descriptors.map((d) => [d.digest, d.artifactType])).toEqual([
          [sig.digest, SIG],
          [sbom.digest, SBOM],
        ]);
        expect(all.descriptors[0]!.annotations).toEqual({ 'dev.sigstore.bundle.predicateType': 'x' });
        const sigs = await client.listReferrers(ref(), image.digest, { artifactType: SIG });
        expect(sigs.descriptors.map((d) => d.digest)).toEqual([sig.digest]);
      } finally {
        await client.close();
      }
    });

    it('reads a missing referrers tag as no referrers', async () => {
      const client = testClient();
      try {
        expect(await client.listReferrers(ref(), unsigned.digest)).toEqual({ descriptors: [], source: 'tag-schema' });
      } finally {
        await client.close();
      }
    });

    it('refuses a referrers tag that holds an image instead of an index', async () => {
      const other = await pushImage(registry, 'sig/app', undefined);
      await pushImage(registry, 'sig/app', referrersTag(other.digest));
      const client = testClient();
      try {
        const err = await rejection(client.listReferrers(ref(), other.digest), 'MALFORMED_CONTENT');
        expect(err.message).toContain(referrersTag(other.digest));
      } finally {
        await client.close();
      }
    });

    it('asks the API once per repository, then goes straight to the tag', async () => {
      const client = testClient();
      try {
        await client.listReferrers({ registry: proxy.host, repository: 'sig/app' }, image.digest);
        await client.listReferrers({ registry: proxy.host, repository: 'sig/app' }, unsigned.digest);
        const paths = proxy.requests.map((r) => r.path);
        expect(paths.filter((p) => p.includes('/referrers/'))).toHaveLength(1);
        expect(paths.filter((p) => p.includes('/manifests/sha256-'))).toHaveLength(2);
      } finally {
        await client.close();
      }
    });
  });

  describe('on a registry with the referrers API (served by the proxy)', () => {
    const ref = () => ({ registry: proxy.host, repository: 'sig/app' });
    const descriptors = Array.from({ length: 5 }, (_, i) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${String(i).repeat(64)}`,
      size: 100 + i,
      artifactType: i % 2 === 0 ? SIG : SBOM,
    }));

    /** A paginated referrers endpoint, two descriptors a page, like a real registry. */
    function referrersApi(options: { applyFilter?: boolean; nextLink?: (page: number, req: ProxyRequest) => string } = {}) {
      return (req: ProxyRequest) => {
        if (!req.path.startsWith('/v2/sig/app/referrers/')) return undefined;
        const url = new URL(req.url, 'http://x');
        const page = Number(url.searchParams.get('page') ?? '1');
        const filter = url.searchParams.get('artifactType');
        const matching = options.applyFilter && filter ? descriptors.filter((d) => d.artifactType === filter) : descriptors;
        const slice = matching.slice((page - 1) * 2, page * 2);
        const headers: Record<string, string> = { 'content-type': 'application/vnd.oci.image.index.v1+json' };
        if (page * 2 < matching.length) {
          headers.link =
            options.nextLink?.(page + 1, req) ?? `<${url.pathname}?page=${page + 1}${filter ? `&artifactType=${encodeURIComponent(filter)}` : ''}>; rel="next"`;
        }
        if (options.applyFilter && filter) headers['oci-filters-applied'] = 'artifactType';
        return jsonReply(200, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: slice }, headers);
      };
    }

    it('follows Link rel="next" through every page', async () => {
      proxy.setHook(referrersApi());
      const client = testClient();
      try {
        const listing = await client.listReferrers(ref(), image.digest);
        expect(listing.source).toBe('referrers-api');
        expect(listing.descriptors.map((d) => d.digest)).toEqual(descriptors.map((d) => d.digest));
        expect(
          proxy.requests
            .filter((r) => r.path.includes('/referrers/'))
            .map((r) => r.url)
            .slice(-3),
        ).toEqual([`/v2/sig/app/referrers/${image.digest}`, `/v2/sig/app/referrers/${image.digest}?page=2`, `/v2/sig/app/referrers/${image.digest}?page=3`]);
      } finally {
        await client.close();
      }
    });

    it('filters by artifactType itself when the registry ignores the filter, and when it applies it', async () => {
      for (const applyFilter of [false, true]) {
        proxy.setHook(referrersApi({ applyFilter }));
        const client = testClient();
        try {
          const listing = await client.listReferrers(ref(), image.digest, { artifactType: SBOM });
          expect(listing.descriptors.map((d) => d.digest)).toEqual([descriptors[1]!.digest, descriptors[3]!.digest]);
          expect(proxy.requests.at(-1)!.url).toContain(`artifactType=${encodeURIComponent(SBOM)}`);
        } finally {
          await client.close();
        }
      }
    });

    it('returns an empty API answer as it is, without trying the tag', async () => {
      proxy.setHook((req) =>
        req.path.includes('/referrers/')
          ? jsonReply(
              200,
              { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] },
              { 'content-type': 'application/vnd.oci.image.index.v1+json' },
            )
          : undefined,
      );
      const client = testClient();
      try {
        expect(await client.listReferrers(ref(), image.digest)).toEqual({ descriptors: [], source: 'referrers-api' });
      } finally {
        await client.close();
      }
    });

    it('a 500 from the referrers API is an error, not an empty list', async () => {
      let hits = 0;
      proxy.setHook((req) => (req.path.includes('/referrers/') ? (hits++, textReply(500, 'boom')) : undefined));
      const client = testClient({ retries: 1 });
      try {
        const err = await rejection(client.listReferrers(ref(), image.digest), 'REGISTRY_ERROR');
        expect(err.message).toContain(`referrers of ${image.digest} of ${proxy.host}/sig/app`);
        expect(err.message).toContain('answered 500');
        expect(hits).toBe(2);
      } finally {
        await client.close();
      }
    });

    it('a later page that fails is an error, not the pages so far', async () => {
      proxy.setHook((req) => (req.url.includes('page=2') ? textReply(404, 'gone') : referrersApi()(req)));
      const client = testClient();
      try {
        await rejection(client.listReferrers(ref(), image.digest), 'REGISTRY_ERROR');
      } finally {
        await client.close();
      }
    });

    it('refuses pagination links that leave the registry or loop', async () => {
      proxy.setHook(referrersApi({ nextLink: () => '<http://127.0.0.2:9/v2/sig/app/referrers/x?page=2>; rel="next"' }));
      const client = testClient();
      try {
        expect((await rejection(client.listReferrers(ref(), image.digest), 'REGISTRY_ERROR')).message).toContain('pagination link');
        proxy.setHook(referrersApi({ nextLink: (_page, req) => `<${req.url}>; rel="next"` }));
        expect((await rejection(client.listReferrers(ref(), image.digest), 'REGISTRY_ERROR')).message).toContain('loops');
      } finally {
        await client.close();
      }
    });

    it('rejects a malformed referrers index', async () => {
      proxy.setHook((req) =>
        req.path.includes('/referrers/')
          ? jsonReply(
              200,
              { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ digest: 'nope' }] },
              { 'content-type': 'application/vnd.oci.image.index.v1+json' },
            )
          : undefined,
      );
      const client = testClient();
      try {
        expect((await rejection(client.listReferrers(ref(), image.digest), 'MALFORMED_CONTENT')).message).toContain('manifests[0]');
      } finally {
        await client.close();
      }
    });
  });

  describe('the referrers API is probed once per registry and the answer shared', () => {
    const at = (repository = 'sig/app') => ({ registry: proxy.host, repository });
    const apiRequests = () => proxy.requests.filter((r) => r.path.includes('/referrers/'));
    const emptyIndex = () =>
      jsonReply(
        200,
        { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] },
        { 'content-type': 'application/vnd.oci.image.index.v1+json' },
      );

    it('calls that start together wait for one probe; without the API each then reads its tag', async () => {
      const client = testClient();
      try {
        const before = apiRequests().length;
        const listings = await Promise.all(Array.from({ length: 16 }, (_, i) => client.listReferrers(at(), i % 2 === 1 ? image.digest : unsigned.digest)));
        expect(apiRequests().length - before).toBe(1);
        expect(new Set(listings.map((l) => l.source))).toEqual(new Set(['tag-schema']));
        expect(listings[1]!.descriptors.map((d) => d.digest)).toEqual([sig.digest, sbom.digest]);
        expect(listings[0]!.descriptors).toEqual([]);
      } finally {
        await client.close();
      }
    });

    it('with the API, the calls that waited use it once the probe has answered', async () => {
      // Answered after 30 ms: calls that did not wait would all be at the registry by then.
      proxy.setHook(async (req) => (req.path.includes('/referrers/') ? (await new Promise((resolve) => setTimeout(resolve, 30)), emptyIndex()) : undefined));
      const client = testClient();
      try {
        const before = apiRequests().length;
        const listings = await Promise.all(Array.from({ length: 8 }, () => client.listReferrers(at(), image.digest)));
        expect(new Set(listings.map((l) => l.source))).toEqual(new Set(['referrers-api']));
        const asked = apiRequests().slice(before);
        expect(asked).toHaveLength(8);
        // The first answered before any other was sent.
        const [first, ...rest] = [...asked].sort((a, b) => a.timing.receivedAt - b.timing.receivedAt);
        expect(rest.every((r) => r.timing.receivedAt >= first!.timing.answeredAt!)).toBe(true);
      } finally {
        await client.close();
      }
    });

    it('a probe that fails teaches nothing: the calls that waited ask for themselves, and none reads as "no referrers"', async () => {
      let failing = true;
      proxy.setHook((req) => (failing && req.path.includes('/referrers/') ? textReply(503, 'down') : undefined));
      const client = testClient({ retries: 0 });
      try {
        const before = apiRequests().length;
        const results = await Promise.allSettled(Array.from({ length: 4 }, () => client.listReferrers(at(), image.digest)));
        expect(results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'listed'))).toEqual(Array(4).fill('REGISTRY_ERROR'));
        expect(apiRequests().length - before).toBe(4);
        // Nothing was learned from the errors: the next call probes, and learns from the registry's real 404.
        failing = false;
        expect((await client.listReferrers(at(), image.digest)).descriptors.map((d) => d.digest)).toEqual([sig.digest, sbom.digest]);
        expect(apiRequests().length - before).toBe(5);
        await client.listReferrers(at(), unsigned.digest);
        expect(apiRequests().length - before).toBe(5);
      } finally {
        await client.close();
      }
    });

    it('when the probing call is aborted, a call that waited for it probes for itself', async () => {
      let delayed = 0;
      proxy.setHook(async (req) => {
        if (req.path.includes('/referrers/') && delayed++ === 0) await new Promise((resolve) => setTimeout(resolve, 300));
        return undefined;
      });
      const client = testClient();
      try {
        const controller = new AbortController();
        const prober = client.listReferrers(at(), image.digest, { signal: controller.signal });
        const waiter = client.listReferrers(at(), image.digest);
        setTimeout(() => controller.abort(new Error('caller gave up')), 50);
        await expect(prober).rejects.toThrow('caller gave up');
        const listing = await waiter;
        expect(listing.source).toBe('tag-schema');
        expect(listing.descriptors.map((d) => d.digest)).toEqual([sig.digest, sbom.digest]);
      } finally {
        await client.close();
      }
    });

    it('a 404 saying the repository is unknown (NAME_UNKNOWN) does not make the registry one without the API', async () => {
      for (const [body, apiAskedForKnownRepository] of [
        [{ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }, 1],
        [{ errors: [{ code: 'UNSUPPORTED', message: 'no such route' }] }, 0],
      ] as const) {
        proxy.setHook((req) => {
          if (req.path.startsWith('/v2/ghost/app/referrers/')) return jsonReply(404, body);
          if (req.path.startsWith('/v2/sig/app/referrers/')) return emptyIndex();
          return undefined;
        });
        const client = testClient();
        try {
          expect(await client.listReferrers(at('ghost/app'), image.digest)).toEqual({ descriptors: [], source: 'tag-schema' });
          const before = apiRequests().length;
          const listing = await client.listReferrers(at(), image.digest);
          expect(apiRequests().length - before).toBe(apiAskedForKnownRepository);
          expect(listing.source).toBe(apiAskedForKnownRepository === 1 ? 'referrers-api' : 'tag-schema');
        } finally {
          await client.close();
        }
      }
    });
  });
});
