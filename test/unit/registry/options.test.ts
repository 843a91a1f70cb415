import { rootCertificates } from 'node:tls';
import { RegistryClient } from '../../../src/registry';
import { resolveOptions } from '../../../src/registry/options';

describe('client options', () => {
  it('fills in the documented defaults', () => {
    const o = resolveOptions({ dockerConfigPath: false });
    expect(o).toMatchObject({ timeoutMs: 30_000, maxManifestBytes: 4 << 20, maxBlobBytes: 8 << 20, retry: { retries: 3 } });
    expect(o.ca).toBeUndefined();
  });

  it('adds extra CAs to the default roots instead of replacing them', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(resolveOptions({ ca: Buffer.from(pem) }).ca).toEqual([...rootCertificates, pem]);
  });

  it.each([
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ retries: -1 }, 'retries'],
    [{ retries: 1.5 }, 'retries'],
    [{ maxManifestBytes: Number.NaN }, 'maxManifestBytes'],
    [{ ca: 'not a pem' }, 'ca'],
    [{ userAgent: 'a\r\nb' }, 'userAgent'],
    [{ allowHttp: 'yes' }, 'allowHttp'],
  ])('rejects %p', (options, name) => {
    expect(() => new RegistryClient(options as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining(name) }));
  });

  it('rejects hand-built references that are not normalised, before any request', async () => {
    const client = new RegistryClient({ dockerConfigPath: false });
    await expect(client.getManifest({ registry: 'docker.io', repository: 'nginx' }, 'latest')).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
    await expect(client.getManifest({ registry: '127.0.0.1:1', repository: 'a/../b' }, 'latest')).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
    await expect(client.getManifest({ registry: '127.0.0.1:1', repository: 'a' }, '../x')).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
    await expect(client.getBlob({ registry: '127.0.0.1:1', repository: 'a' }, 'sha256:abc')).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
    await client.close();
    await expect(client.getManifest({ registry: '127.0.0.1:1', repository: 'a' }, 'v1')).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
  });
});
