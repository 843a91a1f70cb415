import fc from 'fast-check';
import { parsePurl } from '../../../src/sbom/purl';

describe('parsePurl', () => {
  test.each([
    [
      'pkg:oci/nginx@sha256:4ed64c2e0857ad21c38b98345ebb5edb01791a0a10b0e9e3d9ddde185cdbd31a?repository_url=index.docker.io%2Flibrary&tag=nginx',
      {
        type: 'oci',
        name: 'nginx',
        version: 'sha256:4ed64c2e0857ad21c38b98345ebb5edb01791a0a10b0e9e3d9ddde185cdbd31a',
        qualifiers: { repository_url: 'index.docker.io/library', tag: 'nginx' },
      },
    ],
    [
      'pkg:oci/172.19.0.1:5000%2Fapko-test@sha256:f44417ca5eae5c4832baf4f977a12d8492bca835cdf07d44c9db210409b1ba38?arch=amd64&tag=latest',
      {
        type: 'oci',
        name: '172.19.0.1:5000/apko-test',
        version: 'sha256:f44417ca5eae5c4832baf4f977a12d8492bca835cdf07d44c9db210409b1ba38',
        qualifiers: { arch: 'amd64', tag: 'latest' },
      },
    ],
    [
      'pkg:docker/customer/dockerimage@sha256%3A244fd47e07d10?repository_url=gcr.io',
      {
        type: 'docker',
        namespace: 'customer',
        name: 'dockerimage',
        version: 'sha256:244fd47e07d10',
        qualifiers: { repository_url: 'gcr.io' },
      },
    ],
    [
      'pkg:GOLANG/google.golang.org/genproto@abcdedf#/googleapis/api/annotations/',
      {
        type: 'golang',
        namespace: 'google.golang.org',
        name: 'genproto',
        version: 'abcdedf',
        qualifiers: {},
        subpath: 'googleapis/api/annotations',
      },
    ],
    ['pkg:deb/debian/adduser@3.118?arch=all&empty=', { type: 'deb', namespace: 'debian', name: 'adduser', version: '3.118', qualifiers: { arch: 'all' } }],
    ['pkg://npm/%40angular/animation@12.3.1', { type: 'npm', namespace: '@angular', name: 'animation', version: '12.3.1', qualifiers: {} }],
  ])('%s', (input, expected) => {
    expect(parsePurl(input)).toEqual(expected);
  });

  test.each([
    'oci/nginx@sha256:x',
    'pkg:oci',
    'pkg:/nginx',
    'pkg:oci/',
    'pkg:oci/nginx@',
    'pkg:oci/%zz@sha256:x',
    'pkg:oci/nginx?a=%zz',
    'pkg:oci/nginx?=x',
    'pkg:oci/nginx?a=1&a=2',
    'pkg:1ci/nginx',
    'pkg:oci/nginx with space',
  ])('refuses %s', (input) => {
    expect(parsePurl(input)).toBeUndefined();
  });

  test('never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `pkg:${s}`),
          fc.string({ unit: 'binary' }).map((s) => `pkg:oci/${s}`),
        ),
        (s) => {
          const p = parsePurl(s);
          if (p) expect(p.name).not.toBe('');
        },
      ),
    );
  });

  // No timed assertion: quadratic work on a million slashes would run past the test's timeout.
  test('long runs of slashes are linear', () => {
    expect(parsePurl(`pkg:oci/${'/'.repeat(500_000)}x${'/'.repeat(500_000)}`)).toMatchObject({ name: 'x' });
  }, 30_000);
});
