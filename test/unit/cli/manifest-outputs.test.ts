/**
 * The writers of `policy test -f`: SARIF artifact URIs (relative to the working directory, file:
 * outside it, standard input named), JUnit's XML escaping of hostile text.
 */
import fc from 'fast-check';
import { manifestReportJunit, xmlText } from '../../../src/cli/junit';
import type { ManifestReport } from '../../../src/cli/manifest-report';
import { artifactUri } from '../../../src/cli/sarif';

describe('artifactUri', () => {
  it('a relative path stays relative (forward slashes, each segment encoded)', () => {
    expect(artifactUri('k8s/prod/web deploy.yaml', '/repo', undefined)).toBe('k8s/prod/web%20deploy.yaml');
    expect(artifactUri('../other/x.yaml', '/repo', undefined)).toBe('../other/x.yaml');
  });

  it('an absolute path inside the working directory becomes relative; outside it, a file: URI', () => {
    expect(artifactUri('/repo/k8s/a.yaml', '/repo', undefined)).toBe('k8s/a.yaml');
    expect(artifactUri('/tmp/x y.yaml', '/repo', undefined)).toBe('file:///tmp/x%20y.yaml');
  });

  it('standard input: --stdin-filename, else "stdin"', () => {
    expect(artifactUri('-', '/repo', 'rendered/prod.yaml')).toBe('rendered/prod.yaml');
    expect(artifactUri('-', '/repo', undefined)).toBe('stdin');
  });
});

describe('JUnit', () => {
  it('escapes what XML cannot carry as text or attribute, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const out = xmlText(text);
        // No raw markup characters, no control characters XML 1.0 forbids, no lone surrogates.
        expect(out).not.toMatch(/[<>"']|&(?!(?:amp|lt|gt|quot|apos);)/);
        // eslint-disable-next-line no-control-regex -- what must not remain
        expect(out).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
        expect(() => encodeURIComponent(out)).not.toThrow();
      }),
    );
  });

  it('an image name with markup in a denied testcase stays text', () => {
    const position = { line: 3, column: 5, endLine: 3, endColumn: 20 };
    const report: ManifestReport = {
      policySetVersion: 'v',
      noMatch: 'deny',
      defaultNamespace: 'default',
      errors: [],
      objects: [
        {
          file: 'a.yaml',
          document: 0,
          items: [],
          position,
          kind: 'Pod',
          namespace: 'default',
          name: 'p',
          verdict: 'denied',
          warnings: [],
          images: [
            {
              image: 'x"/><evil/>',
              container: 'c',
              field: 'containers',
              path: '/spec/containers/0/image',
              position,
              decision: { image: 'x"/><evil/>', verdict: 'denied', matched: false, policies: [], reason: '<b>&' },
            },
          ],
        },
      ],
    };
    const xml = manifestReportJunit(report);
    expect(xml).not.toContain('<evil/>');
    expect(xml).toContain('name="container &quot;c&quot;: x&quot;/&gt;&lt;evil/&gt;"');
    expect(xml).toContain('<failure message="&lt;b&gt;&amp;" type="denied">&lt;b&gt;&amp;</failure>');
  });
});
