import { type ImgverifyError } from '../../../../src/errors';
import { assertUrlAllowed, httpAllowance, httpAllowed, schemeCandidates } from '../../../../src/registry/transport/scheme';

const ctx = { registry: 'reg.example', repository: 'app', subject: 'manifest "v1"' };

describe('scheme selection', () => {
  it('uses https only for registries that are not loopback and not allowed http', () => {
    expect(schemeCandidates('ghcr.io', httpAllowance(undefined))).toEqual(['https']);
    expect(schemeCandidates('docker.io', httpAllowance(false))).toEqual(['https']);
    expect(schemeCandidates('10.0.0.5:5000', httpAllowance(['10.0.0.6:5000']))).toEqual(['https']);
  });

  it('tries https then http for loopback and allowed registries', () => {
    for (const registry of ['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', 'localhost']) {
      expect(schemeCandidates(registry, httpAllowance(undefined))).toEqual(['https', 'http']);
    }
    expect(schemeCandidates('reg.internal:5000', httpAllowance(['http://REG.internal:5000/']))).toEqual(['https', 'http']);
    expect(schemeCandidates('anything.example', httpAllowance(true))).toEqual(['https', 'http']);
  });

  it('a redirect target on loopback is allowed plain http only when the registry that named it is on loopback, or allowHttp lists it (issue 20.12)', () => {
    expect(httpAllowed('127.0.0.1:9000', httpAllowance(undefined), 'localhost:5000')).toBe(true);
    expect(httpAllowed('127.0.0.1:9000', httpAllowance(undefined), 'registry.example')).toBe(false);
    expect(httpAllowed('[::1]:9000', httpAllowance(['registry.example']), 'registry.example')).toBe(false);
    expect(httpAllowed('127.0.0.1:9000', httpAllowance(['127.0.0.1:9000']), 'registry.example')).toBe(true);
    expect(httpAllowed('127.0.0.1:9000', httpAllowance(true), 'registry.example')).toBe(true);
    // Named by the user: loopback as ever.
    expect(httpAllowed('127.0.0.1:9000', httpAllowance(undefined))).toBe(true);
  });

  it('does not take look-alike names for loopback', () => {
    for (const host of ['localhost.evil.example', '127.0.0.1.nip.io', '128.0.0.1', '[::2]']) expect(httpAllowed(host, httpAllowance(undefined))).toBe(false);
  });
});

describe('assertUrlAllowed', () => {
  const refuse = (url: string, allow?: boolean | string[]) => {
    try {
      assertUrlAllowed(new URL(url), httpAllowance(allow), ctx, 'redirect target');
    } catch (err) {
      return err as ImgverifyError;
    }
    return undefined;
  };

  it('refuses plain http to a host that is not loopback or allowed', () => {
    const err = refuse('http://storage.example/blob?X-Amz-Signature=secret');
    expect(err?.code).toBe('INSECURE_REGISTRY_REFUSED');
    expect(err?.message).toContain('http://storage.example/blob');
    expect(err?.message).not.toContain('secret');
    expect(refuse('http://storage.example/blob', ['storage.example'])).toBeUndefined();
    expect(refuse('http://127.0.0.1:9/x')).toBeUndefined();
    expect(refuse('https://storage.example/blob')).toBeUndefined();
  });

  it('refuses other schemes and user info', () => {
    expect(refuse('ftp://x/y')?.code).toBe('REGISTRY_ERROR');
    expect(refuse('file:///etc/passwd')?.code).toBe('REGISTRY_ERROR');
    expect(refuse('https://user:pw@x/y')?.message).toContain('user info');
  });
});
