/**
 * A registry that rate-limits with 429 (docs/registry.md, "Rate limits"): the client lowers its
 * cap of requests in flight to that registry, honours Retry-After for all of them, and raises
 * the cap again once the registry answers.
 */
import {
  closePushers,
  pushImage,
  startProxy,
  startRegistry,
  textReply,
  type PushedImage,
  type RunningProxy,
  type RunningRegistry,
} from '../../support/registry';
import { testClient } from './helpers';

describe('a registry that answers 429', () => {
  let registry: RunningRegistry;
  let proxy: RunningProxy;
  let image: PushedImage;
  const ref = () => ({ registry: proxy.host, repository: 'limited/app' });

  beforeAll(async () => {
    registry = await startRegistry();
    image = await pushImage(registry, 'limited/app', 'v1');
    proxy = await startProxy(registry);
  });
  beforeEach(() => proxy.setHook(undefined));
  afterAll(async () => {
    await closePushers();
    await proxy?.stop();
    await registry?.stop();
  });

  it('beyond 4 requests in flight: the client lowers its cap to what the registry takes, and every call succeeds', async () => {
    let inFlight = 0;
    let refused = 0;
    let lowestCap = Infinity;
    const client = testClient({ maxConnectionsPerHost: 32, retries: 3 });
    proxy.setHook(async (req) => {
      if (!req.path.includes('/manifests/')) return undefined;
      lowestCap = Math.min(lowestCap, client.registryLoad(proxy.host).cap);
      if (inFlight >= 4) {
        refused++;
        return textReply(429, '{"errors":[{"code":"TOOMANYREQUESTS","message":"too many requests"}]}');
      }
      inFlight++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
      return undefined;
    });
    try {
      const results = await Promise.allSettled(Array.from({ length: 64 }, () => client.getManifest(ref(), image.digest)));
      expect(results.filter((r) => r.status === 'rejected').map((r) => String(r.reason))).toEqual([]);
      // The cap came down to what the registry takes (it then probes upwards, one per round);
      // most calls were never refused.
      expect(lowestCap).toBeLessThanOrEqual(4);
      expect(refused).toBeLessThan(64);
      // And it grows back while the registry answers.
      const capped = client.registryLoad(proxy.host).cap;
      proxy.setHook(undefined);
      for (let i = 0; i < 40; i++) await client.getManifest(ref(), image.digest);
      expect(client.registryLoad(proxy.host).cap).toBeGreaterThan(capped);
    } finally {
      await client.close();
    }
  });

  it("a 429's Retry-After holds the registry's other requests until then", async () => {
    let first = true;
    proxy.setHook((req) => {
      if (!req.path.includes('/manifests/') || !first) return undefined;
      first = false;
      return textReply(429, 'slow down', { 'retry-after': '1' });
    });
    const client = testClient();
    try {
      const refusedOne = client.getManifest(ref(), image.digest);
      // Let the 429 arrive, then start others: they wait for the Retry-After, as the refused one does.
      while (first) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const refusedAt = proxy.requests.at(-1)!.timing.answeredAt!;
      const before = proxy.requests.length;
      await Promise.all([refusedOne, ...Array.from({ length: 5 }, () => client.getManifest(ref(), image.digest))]);
      const later = proxy.requests.slice(before);
      expect(later).toHaveLength(6);
      expect(Math.min(...later.map((r) => r.timing.receivedAt)) - refusedAt).toBeGreaterThanOrEqual(900);
    } finally {
      await client.close();
    }
  });
});
