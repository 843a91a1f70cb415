import {
  closePushers,
  failTimes,
  pushImage,
  startProxy,
  startRegistry,
  textReply,
  type PushedImage,
  type RunningProxy,
  type RunningRegistry,
} from '../../support/registry';
import { rejection, testClient } from './helpers';

describe('retries, timeouts and unreachable registries', () => {
  let registry: RunningRegistry;
  let proxy: RunningProxy;
  let image: PushedImage;
  const ref = () => ({ registry: proxy.host, repository: 'ops/app' });
  const isManifest = (r: { path: string }) => r.path.includes('/manifests/');

  beforeAll(async () => {
    registry = await startRegistry();
    image = await pushImage(registry, 'ops/app', 'v1');
    proxy = await startProxy(registry);
  });
  beforeEach(() => {
    proxy.setHook(undefined);
    proxy.setDelay(0);
  });
  afterAll(async () => {
    await closePushers();
    await proxy?.stop();
    await registry?.stop();
  });

  it('retries 503 and succeeds, with one request per attempt', async () => {
    const hook = failTimes(2, isManifest, () => textReply(503, 'busy'));
    proxy.setHook(hook);
    const client = testClient();
    try {
      expect((await client.getManifest(ref(), 'v1')).digest).toBe(image.digest);
      expect(hook.hits()).toBe(3);
    } finally {
      await client.close();
    }
  });

  it('gives up after the configured retries with REGISTRY_ERROR naming the status', async () => {
    const hook = failTimes(100, isManifest, () => textReply(500, 'down'));
    proxy.setHook(hook);
    const client = testClient({ retries: 2 });
    try {
      const err = await rejection(client.getManifest(ref(), 'v1'), 'REGISTRY_ERROR');
      expect(err.message).toContain('answered 500');
      expect(err.message).toContain('attempt 3 of 3');
      expect(hook.hits()).toBe(3);
    } finally {
      await client.close();
    }
  });

  it('honours Retry-After on 429', async () => {
    const hook = failTimes(1, isManifest, () => textReply(429, 'slow down', { 'retry-after': '1' }));
    proxy.setHook(hook);
    const client = testClient();
    try {
      const started = Date.now();
      expect((await client.getManifest(ref(), 'v1')).digest).toBe(image.digest);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(hook.hits()).toBe(2);
    } finally {
      await client.close();
    }
  });

  it('does not wait for a Retry-After beyond its bound', async () => {
    const hook = failTimes(1, isManifest, () => textReply(429, 'come back tomorrow', { 'retry-after': '86400' }));
    proxy.setHook(hook);
    const client = testClient({ maxRetryDelayMs: 2000 });
    try {
      const err = await rejection(client.getManifest(ref(), 'v1'), 'REGISTRY_ERROR');
      expect(err.message).toContain('retry after 86400 s');
      expect(hook.hits()).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('retries a dropped connection', async () => {
    const hook = failTimes(1, isManifest, () => ({ reset: true }));
    proxy.setHook(hook);
    const client = testClient();
    try {
      expect((await client.getManifest(ref(), 'v1')).digest).toBe(image.digest);
      expect(hook.hits()).toBe(2);
    } finally {
      await client.close();
    }
  });

  it('a registry slower than timeoutMs is REGISTRY_TIMEOUT', async () => {
    const client = testClient({ timeoutMs: 300 });
    try {
      await client.getManifest(ref(), 'v1'); // scheme probe done without delay
      proxy.setDelay(5000);
      const started = Date.now();
      const err = await rejection(client.getManifest(ref(), 'v1'), 'REGISTRY_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(4000);
      expect(err.message).toContain('within 300 ms');
      expect(err.message).toContain(`manifest "v1" of ${proxy.host}/ops/app`);
    } finally {
      await client.close();
    }
  });

  it('a caller abort goes through as the caller’s reason', async () => {
    proxy.setDelay(1000);
    const client = testClient();
    try {
      const controller = new AbortController();
      const pending = client.getManifest(ref(), 'v1', { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('user gave up')), 50);
      await expect(pending).rejects.toThrow('user gave up');
    } finally {
      await client.close();
    }
  });

  it('a stopped registry is REGISTRY_UNREACHABLE', async () => {
    const gone = await startRegistry();
    const host = gone.host;
    await gone.stop();
    const client = testClient();
    try {
      const err = await rejection(client.getManifest({ registry: host, repository: 'ops/app' }, 'v1'), 'REGISTRY_UNREACHABLE');
      expect(err.message).toContain('connection refused');
      expect(err.message).toContain(host);
    } finally {
      await client.close();
    }
  });
});
