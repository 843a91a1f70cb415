/**
 * Fulcio claims read from certificates: a real GitHub Actions certificate (the salrashid123
 * fixture, issued by the production Fulcio in 2026), certificates minted by the test Fulcio with
 * every claim, and malformed extensions; property tests over arbitrary extension bytes.
 */
import { X509Certificate } from '@sigstore/core';
import fc from 'fast-check';
import { CERTIFICATE_CLAIMS, certificateClaims, parseDerUtf8String } from '../../../src/policy/certificate-claims';
import { certificateIdentity } from '../../../src/policy/certificate-identity';
import { readFixtureJSON } from '../../support/fixtures';
import { createTestSigstore, githubWorkflowCertificate, generateKeyPair, type Extension } from '../../support/sigstore';
import * as der from '../../support/sigstore/der';

const sigstore = createTestSigstore();
const ARC = '1.3.6.1.4.1.57264.1';

function issue(extensions: Extension[]): X509Certificate {
  const cert = sigstore.fulcio.issue({
    publicKey: generateKeyPair('ecdsa-p256').publicKey,
    identity: { email: 'signer@example.test' },
    issuer: 'https://accounts.example.test',
    signedAt: new Date(sigstore.now.getTime() - 3600_000),
    extensions,
  });
  return X509Certificate.parse(cert.der);
}

test('a real GitHub Actions certificate: every claim, by the names cosign and Fulcio use', () => {
  const artifact = readFixtureJSON<{ certificate: string }>('cosign-oci', 'salrashid123-server_image', 'sha256-c05263d2ff65', 'artifact-0.json');
  const identity = certificateIdentity(X509Certificate.parse(artifact.certificate));
  expect(identity.issuer).toBe('https://token.actions.githubusercontent.com');
  expect(identity.claims).toEqual({
    githubWorkflowTrigger: 'push',
    githubWorkflowSha: '7624bd5f279fb5d4700ea72c1b2373ee33960700',
    githubWorkflowName: 'Release',
    githubWorkflowRepository: 'salrashid123/go-bazel-github-workflow',
    githubWorkflowRef: 'refs/tags/v0.0.30',
    buildSignerURI: 'https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.30',
    buildSignerDigest: '7624bd5f279fb5d4700ea72c1b2373ee33960700',
    runnerEnvironment: 'github-hosted',
    sourceRepositoryURI: 'https://github.com/salrashid123/go-bazel-github-workflow',
    sourceRepositoryDigest: '7624bd5f279fb5d4700ea72c1b2373ee33960700',
    sourceRepositoryRef: 'refs/tags/v0.0.30',
    sourceRepositoryIdentifier: '1150755799',
    sourceRepositoryOwnerURI: 'https://github.com/salrashid123',
    sourceRepositoryOwnerIdentifier: '11149054',
    buildConfigURI: 'https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.30',
    buildConfigDigest: '7624bd5f279fb5d4700ea72c1b2373ee33960700',
    buildTrigger: 'push',
    runInvocationURI: 'https://github.com/salrashid123/go-bazel-github-workflow/actions/runs/22498294485/attempts/1',
    sourceRepositoryVisibilityAtSigning: 'public',
  });
  expect(identity.unreadableClaims).toBeUndefined();
  // JSON output lists them in OID order.
  expect(Object.keys(identity.claims)[0]).toBe('githubWorkflowTrigger');
  expect(Object.keys(identity.claims).at(-1)).toBe('sourceRepositoryVisibilityAtSigning');
});

test('a certificate without workload claims (an email identity) has none; issuer and OtherName are not claims', () => {
  const cert = issue([]);
  expect(certificateClaims(cert)).toEqual({ claims: {}, unreadable: {} });
});

test('the test Fulcio GitHub certificate: v1 raw and v2 DER claims, and .23 deploymentEnvironment', () => {
  const gh = githubWorkflowCertificate({ repository: 'org/app', workflowPath: '.github/workflows/release.yml', ref: 'refs/tags/v1', repositoryId: '42' });
  const claims = certificateClaims(issue([...gh.extensions, { oid: `${ARC}.23`, value: der.utf8String('production') }])).claims;
  expect(claims).toMatchObject({
    githubWorkflowRepository: 'org/app',
    sourceRepositoryIdentifier: '42',
    sourceRepositoryRef: 'refs/tags/v1',
    deploymentEnvironment: 'production',
  });
});

test('an unknown extension of the Fulcio arc is reported under its OID when it is a DER UTF8String, else left out', () => {
  const claims = certificateClaims(
    issue([
      { oid: `${ARC}.30`, value: der.utf8String('future') },
      { oid: `${ARC}.31`, value: Buffer.from([1, 2, 3]) },
    ]),
  ).claims;
  expect(claims).toEqual({ [`${ARC}.30`]: 'future' });
});

test.each([
  ['a v2 claim that is raw bytes, not DER', { oid: `${ARC}.15`, value: Buffer.from('123') }, 'sourceRepositoryIdentifier', 'not a DER UTF8String'],
  [
    'a v2 claim with trailing bytes',
    { oid: `${ARC}.15`, value: Buffer.concat([der.utf8String('123'), Buffer.from([0])]) },
    'sourceRepositoryIdentifier',
    'trailing bytes',
  ],
  ['a v2 claim as a PrintableString', { oid: `${ARC}.14`, value: der.printableString('refs/tags/v1') }, 'sourceRepositoryRef', 'tag 0x13'],
  ['a v2 claim that is not UTF-8', { oid: `${ARC}.14`, value: der.tlv(0x0c, Buffer.from([0xff, 0xfe])) }, 'sourceRepositoryRef', 'not valid UTF-8'],
  ['a v1 claim that is not UTF-8', { oid: `${ARC}.5`, value: Buffer.from([0xc3]) }, 'githubWorkflowRepository', 'not valid UTF-8'],
])('%s is unreadable, not reported', (_what, ext, name, why) => {
  const parsed = certificateClaims(issue([ext]));
  expect(parsed.claims).toEqual({});
  expect(parsed.unreadable[name]).toContain(why);
});

test('a claim whose extension appears twice is unreadable (which one counts is ambiguous)', () => {
  const parsed = certificateClaims(
    issue([
      { oid: `${ARC}.15`, value: der.utf8String('1') },
      { oid: `${ARC}.15`, value: der.utf8String('2') },
    ]),
  );
  expect(parsed.claims).toEqual({});
  expect(parsed.unreadable.sourceRepositoryIdentifier).toContain('appears more than once');
});

describe('DER UTF8String', () => {
  test.each([
    [[0x0c, 0x00], ''],
    [[0x0c, 0x02, 0x68, 0x69], 'hi'],
    [[0x0c, 0x81, 0x80, ...Buffer.alloc(128, 0x61)], 'a'.repeat(128)],
  ])('%j → %j', (bytes, value) => {
    expect(parseDerUtf8String(Buffer.from(bytes))).toEqual({ value });
  });
  test.each([
    [[0x0c], 'too short'],
    [[0x0c, 0x80], 'indefinite'],
    [[0x0c, 0x81, 0x05, 0x61, 0x61, 0x61, 0x61, 0x61], 'not minimally encoded'],
    [[0x0c, 0x82, 0x00, 0x80], 'not minimally encoded'],
    [[0x0c, 0x03, 0x61], 'truncated value'],
    [[0x0c, 0x85, 1, 1, 1, 1, 1], 'length too large'],
    [[0x0c, 0x82, 0x01], 'truncated length'],
    [[0x04, 0x01, 0x61], 'tag 0x04'],
  ])('%j is refused: %s', (bytes, why) => {
    const r = parseDerUtf8String(Buffer.from(bytes));
    expect('error' in r && r.error).toContain(why);
  });

  test('property: every string round-trips through its DER encoding', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (s) => {
        expect(parseDerUtf8String(der.utf8String(s))).toEqual({ value: s });
      }),
    );
  });

  test('property: arbitrary bytes never throw; what parses re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = parseDerUtf8String(bytes);
        if ('value' in r) expect(der.utf8String(r.value).equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });
});

test('property: arbitrary extension values of every claim OID never throw, and are reported only when well-formed', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...CERTIFICATE_CLAIMS),
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
        fc.string({ maxLength: 64 }).map((s) => der.utf8String(s)),
      ),
      (spec, value) => {
        const parsed = certificateClaims(issue([{ oid: spec.oid, value }]));
        const reported = parsed.claims[spec.name];
        if (reported === undefined) {
          expect(parsed.unreadable[spec.name]).toBeDefined();
        } else if (spec.encoding === 'raw') {
          expect(Buffer.from(reported, 'utf8').equals(value)).toBe(true);
        } else {
          expect(der.utf8String(reported).equals(value)).toBe(true);
        }
      },
    ),
    { numRuns: 60 },
  );
});
