import { closePushers, pushImage, startRegistry, type PushedImage, type RunningRegistry } from '../../support/registry';
import { rejection, testClient } from './helpers';

describe('a TLS registry with a private CA', () => {
  let registry: RunningRegistry;
  let image: PushedImage;
  const ref = () => ({ registry: registry.host, repository: 'secure/app' });

  beforeAll(async () => {
    registry = await startRegistry({ tls: true });
    image = await pushImage(registry, 'secure/app', 'v1');
  });
  afterAll(async () => {
    await closePushers();
    await registry?.stop();
  });

  it('is read over https when its CA is given', async () => {
    expect(registry.url).toMatch(/^https:/);
    const client = testClient({ ca: registry.ca! });
    try {
      expect((await client.getManifest(ref(), 'v1')).digest).toBe(image.digest);
      expect((await client.getBlob(ref(), image.layers[0]!.digest)).equals(image.layers[0]!.bytes)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('is REGISTRY_UNREACHABLE with a TLS message without the CA, and never falls back to http', async () => {
    const client = testClient();
    try {
      const err = await rejection(client.getManifest(ref(), 'v1'), 'REGISTRY_UNREACHABLE');
      expect(err.message).toMatch(/TLS certificate of 127\.0\.0\.1:\d+ not accepted/);
      expect(err.message).toContain('ca option');
      expect(err.details).toMatchObject({ url: `https://${registry.host}/v2/` });
    } finally {
      await client.close();
    }
  });
});
