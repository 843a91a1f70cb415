import fc from 'fast-check';
import { ImgverifyError } from '../../src/errors';
import { formatReference, isLoopbackRegistry, parseDigest, parseReference, registryApiHost, registryHostname, withDigest } from '../../src/reference';

const D = `sha256:${'ab'.repeat(32)}`;

describe('parseReference: normalisation (docker/distribution rules)', () => {
  test.each([
    ['nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['nginx:1.25', 'docker.io', 'library/nginx', '1.25', undefined],
    ['library/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['docker.io/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['index.docker.io/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['salrashid123/server_image', 'docker.io', 'salrashid123/server_image', 'latest', undefined],
    ['registry.k8s.io/kube-apiserver:v1.32.0', 'registry.k8s.io', 'kube-apiserver', 'v1.32.0', undefined],
    ['registry.k8s.io/cluster-api/cluster-api-controller:v1.5.0', 'registry.k8s.io', 'cluster-api/cluster-api-controller', 'v1.5.0', undefined],
    ['localhost/app', 'localhost', 'app', 'latest', undefined],
    ['localhost:5000/a/b/c/d:tag', 'localhost:5000', 'a/b/c/d', 'tag', undefined],
    ['127.0.0.1:41234/deep/repo/path', '127.0.0.1:41234', 'deep/repo/path', 'latest', undefined],
    ['[::1]:5000/app:v1', '[::1]:5000', 'app', 'v1', undefined],
    ['Registry.Example.com/app', 'registry.example.com', 'app', 'latest', undefined],
    ['MyHost/app', 'MyHost', 'app', 'latest', undefined],
    ['A/0', 'A', '0', 'latest', undefined],
    ['LocalHost:5000/app', 'localhost:5000', 'app', 'latest', undefined],
    ['Docker.IO/app', 'docker.io', 'library/app', 'latest', undefined],
    ['Index.Docker.io/app', 'docker.io', 'library/app', 'latest', undefined],
    [`ghcr.io/org/app@${D}`, 'ghcr.io', 'org/app', undefined, D],
    [`ghcr.io/org/app:v1@${D}`, 'ghcr.io', 'org/app', 'v1', D],
    ['ghcr.io/org/a.b_c__d-e---f:T_a.g-1', 'ghcr.io', 'org/a.b_c__d-e---f', 'T_a.g-1', undefined],
    ['localhost:5000', 'docker.io', 'library/localhost', '5000', undefined],
  ])('%s', (input, registry, repository, tag, digest) => {
    const ref = parseReference(input);
    expect(ref.registry).toBe(registry);
    expect(ref.repository).toBe(repository);
    expect(ref.tag).toBe(tag);
    expect(ref.digest).toBe(digest);
  });

  test('formats canonically', () => {
    expect(formatReference(parseReference('nginx'))).toBe('docker.io/library/nginx:latest');
    expect(formatReference(parseReference(`ghcr.io/o/a:v1@${D}`))).toBe(`ghcr.io/o/a:v1@${D}`);
    expect(formatReference(parseReference(`ghcr.io/o/a@${D}`))).toBe(`ghcr.io/o/a@${D}`);
    expect(formatReference(withDigest(parseReference('ghcr.io/o/a:v1'), D))).toBe(`ghcr.io/o/a:v1@${D}`);
  });
});

describe('parseReference: invalid references', () => {
  test.each([
    ['', 'empty reference'],
    [' nginx', 'white space'],
    ['Nginx', 'lower case'],
    ['ghcr.io/Org/app', 'lower case'],
    ['ghcr.io/org//app', 'malformed repository path component ""'],
    ['ghcr.io/org/app:', 'malformed tag'],
    ['ghcr.io/org/app:-bad', 'malformed tag'],
    [`ghcr.io/org/app:${'t'.repeat(129)}`, 'malformed tag'],
    ['ghcr.io/org/app@sha256:1234', 'malformed digest'],
    [`ghcr.io/org/app@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
    [`ghcr.io/org/app@sha256:${'A'.repeat(64)}`, 'lower-case hex'],
    [`ghcr.io/org/app@sha256:${'a'.repeat(63)}`, 'expected 64'],
    ['-bad.example.com/app', 'malformed registry host'],
    ['ghcr.io/', 'missing repository path'],
    ['ghcr.io/org/app_', 'malformed repository path component'],
    [`example.com/${'a'.repeat(250)}`, 'longer than 255'],
    [':tag', 'missing repository name'],
  ])('%j is rejected (%s)', (input, why) => {
    let caught: unknown;
    try {
      parseReference(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ImgverifyError);
    expect((caught as ImgverifyError).code).toBe('INVALID_REFERENCE');
    expect((caught as ImgverifyError).message).toContain(why);
  });

  test('parseDigest validates algorithm and length', () => {
    expect(parseDigest(D)).toBe(D);
    expect(parseDigest(`sha512:${'c'.repeat(128)}`)).toMatch(/^sha512:/);
    expect(() => parseDigest('sha256')).toThrow(ImgverifyError);
  });
});

describe('registry host helpers', () => {
  test('docker.io is served by registry-1.docker.io', () => {
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('ghcr.io')).toBe('ghcr.io');
  });
  test('loopback detection', () => {
    for (const r of ['localhost', 'localhost:5000', '127.0.0.1:1', '127.1.2.3', '[::1]:5000', 'LocalHost:05000']) expect(isLoopbackRegistry(r)).toBe(true);
    // Other spellings of loopback, read as the URL parser (and so the HTTP stack) reads them (issue 20.14).
    for (const r of ['127.1:5000', '0x7f.0.0.1', '[::ffff:7f00:1]:5000', '[0:0:0:0:0:ffff:7f00:1]', '[0:0:0:0:0:0:0:1]:5000'])
      expect(isLoopbackRegistry(r)).toBe(true);
    for (const r of [
      'ghcr.io',
      'localhost.example.com',
      '128.0.0.1',
      '10.0.0.1:5000',
      '[::2]:5000',
      'docker.io',
      '[::ffff:a00:1]',
      '0.0.0.0:5000',
      '[::]:5000',
    ]) {
      expect(isLoopbackRegistry(r)).toBe(false);
    }
    expect(registryHostname('[::1]:5000')).toBe('::1');
    expect(registryHostname('example.com:443')).toBe('example.com');
  });
});

describe('parseReference: properties', () => {
  const alnum = fc.stringMatching(/^[a-z0-9]{1,8}$/);
  const separator = fc.constantFrom('.', '_', '__', '-', '--');
  const component = fc.tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 2 })).map(([head, rest]) => head + rest.map(([s, a]) => s + a).join(''));
  const path = fc.array(component, { minLength: 1, maxLength: 4 }).map((c) => c.join('/'));
  const host = fc.oneof(
    fc.constantFrom('localhost', 'ghcr.io', 'registry.k8s.io', '127.0.0.1', '[::1]', 'my-registry.example.com'),
    fc.tuple(alnum, alnum).map(([a, b]) => `${a}.${b}`),
  );
  const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
  const tag = fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/), { nil: undefined });
  const digest = fc.option(
    fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`),
    { nil: undefined },
  );

  test('valid references parse, and format/parse is a fixed point', () => {
    fc.assert(
      fc.property(host, port, path, tag, digest, (h, p, pa, t, d) => {
        const input = `${h}${p !== undefined ? `:${p}` : ''}/${pa}${t !== undefined ? `:${t}` : ''}${d !== undefined ? `@${d}` : ''}`;
        const ref = parseReference(input);
        expect(ref.repository).toBe(pa);
        expect(ref.digest).toBe(d);
        expect(ref.tag).toBe(t ?? (d ? undefined : 'latest'));
        const again = parseReference(formatReference(ref));
        expect(again).toEqual(ref);
      }),
      { numRuns: 500 },
    );
  });

  test('arbitrary input either parses or throws INVALID_REFERENCE, never anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        try {
          const ref = parseReference(s);
          expect(parseReference(formatReference(ref))).toEqual(ref);
        } catch (err) {
          expect(err).toBeInstanceOf(ImgverifyError);
          expect((err as ImgverifyError).code).toBe('INVALID_REFERENCE');
        }
      }),
      { numRuns: 5000 },
    );
  });

  test('reference-shaped noise never escapes as a non-coded error', () => {
    const chars = fc.constantFrom(...'aZ09.:/@_-[]'.split(''));
    fc.assert(
      fc.property(
        fc.array(chars, { maxLength: 80 }).map((a) => a.join('')),
        (s) => {
          let ref;
          try {
            ref = parseReference(s);
          } catch (err) {
            expect((err as ImgverifyError).code).toBe('INVALID_REFERENCE');
            return;
          }
          expect(parseReference(formatReference(ref))).toEqual(ref);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
