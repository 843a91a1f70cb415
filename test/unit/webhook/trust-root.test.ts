/**
 * TrustRoot documents (policy.sigstore.dev/v1alpha1) in the policy folder: validation, each
 * error naming file, document and field; references from authorities resolved at folder load.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicies, parseClusterImagePolicies } from '../../../src/webhook';
import { createTestSigstore } from '../../support/sigstore';

const sigstore = createTestSigstore({ organization: 'trustroot-unit.test' });
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const pem = (b64der: string, label = 'CERTIFICATE'): string => `-----BEGIN ${label}-----\n${b64der.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
const CA_CHAIN = b64(sigstore.trustedRoot.certificateAuthorities[0]!.certChain.certificates.map((c) => pem(c.rawBytes)).join(''));
const TLOG_KEY = b64(pem(sigstore.trustedRoot.tlogs[0]!.publicKey.rawBytes, 'PUBLIC KEY'));

function doc(spec: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ apiVersion: 'policy.sigstore.dev/v1alpha1', kind: 'TrustRoot', metadata: { name: 'private' }, spec, ...extra });
}
const KEYS = { certificateAuthorities: [{ subject: { organization: 'o', commonName: 'c' }, uri: 'https://fulcio.internal', certChain: CA_CHAIN }], tLogs: [{ baseURL: 'https://rekor.internal', hashAlgorithm: 'sha256', publicKey: TLOG_KEY }] };

function errors(text: string): string[] {
  return parseClusterImagePolicies(text, 'trust.json').errors.map((e) => e.message);
}

test('a valid sigstoreKeys TrustRoot parses (PEM as base64, as the CRD\'s []byte, or as PEM text)', () => {
  const result = parseClusterImagePolicies(doc({ sigstoreKeys: KEYS }), 'trust.json');
  expect(result.errors).toEqual([]);
  expect(result.trustRoots).toEqual([expect.objectContaining({ kind: 'TrustRoot', name: 'private', spec: expect.objectContaining({ kind: 'sigstoreKeys' }) })]);
  const plain = { ...KEYS, tLogs: [{ ...KEYS.tLogs[0], publicKey: Buffer.from(TLOG_KEY, 'base64').toString() }] };
  expect(errors(doc({ sigstoreKeys: plain }))).toEqual([]);
});

test.each(['sha256', 'sha-256', 'SHA2_256', 'sha-384', 'sha512'])(
  'a log hashAlgorithm spelled %j loads (sha-256 is the spelling of policy-controller\'s own example, pkg/apis/config/testdata/config-sigstore-keys.yaml)',
  (hashAlgorithm) => {
    expect(errors(doc({ sigstoreKeys: { ...KEYS, tLogs: [{ ...KEYS.tLogs[0], hashAlgorithm }] } }))).toEqual([]);
  },
);

test.each<[string, string, RegExp]>([
  ['no form', doc({}), /spec: expected exactly one of sigstoreKeys, remote, repository, got neither/],
  ['two forms', doc({ sigstoreKeys: KEYS, remote: { mirror: 'https://tuf.internal', root: b64('{}') } }), /got sigstoreKeys, remote/],
  ['certChain not base64', doc({ sigstoreKeys: { certificateAuthorities: [{ ...KEYS.certificateAuthorities[0], certChain: '%%%' }] } }), /certificateAuthorities\[0\]\.certChain: not base64/],
  ['certChain without a certificate', doc({ sigstoreKeys: { certificateAuthorities: [{ ...KEYS.certificateAuthorities[0], certChain: b64('hello') }] } }), /certChain holds no PEM certificate/],
  ['a tlog key that is not a key', doc({ sigstoreKeys: { ...KEYS, tLogs: [{ ...KEYS.tLogs[0], publicKey: CA_CHAIN }] } }), /tLogs\[0\]\.publicKey is not a PEM public key/],
  ['a log hash that is not SHA-2', doc({ sigstoreKeys: { ...KEYS, tLogs: [{ ...KEYS.tLogs[0], hashAlgorithm: 'md5' }] } }), /tLogs\[0\]\.hashAlgorithm "md5" is not sha256, sha384 or sha512/],
  ['no CA and no TSA', doc({ sigstoreKeys: { tLogs: KEYS.tLogs } }), /at least one of certificateAuthorities, timestampAuthorities/],
  ['an unknown field', doc({ sigstoreKeys: { ...KEYS, rekor: 1 } }), /spec\.sigstoreKeys\.rekor: unknown field/],
  ['remote without mirror', doc({ remote: { root: b64('{}') } }), /spec\.remote\.mirror: missing field/],
  ['repository without mirrorFS', doc({ repository: { root: b64('{}') } }), /spec\.repository\.mirrorFS: missing field/],
  ['another apiVersion', doc({ sigstoreKeys: KEYS }, { apiVersion: 'policy.sigstore.dev/v1beta1' }), /unsupported apiVersion .* for a TrustRoot/],
])('%s is an error naming the field', (_name, text, message) => {
  expect(errors(text).join('\n')).toMatch(message);
});

test('the policy folder: a trustRootRef must name a TrustRoot of the folder (any file); names are unique', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-trustroot-unit-'));
  const policy = (ref: string): string =>
    JSON.stringify({
      apiVersion: 'policy.sigstore.dev/v1beta1',
      kind: 'ClusterImagePolicy',
      metadata: { name: 'p' },
      spec: { images: [{ glob: '**' }], authorities: [{ keyless: { trustRootRef: ref, identities: [{ issuer: 'i', subject: 's' }] } }] },
    });
  writeFileSync(join(dir, 'a-trust.json'), doc({ sigstoreKeys: KEYS }));
  writeFileSync(join(dir, 'b-policy.json'), policy('private'));
  const ok = await loadPolicies(dir);
  expect(ok.errors).toEqual([]);
  expect(ok.trustRoots.map((t) => t.name)).toEqual(['private']);
  writeFileSync(join(dir, 'b-policy.json'), policy('missing'));
  const bad = await loadPolicies(dir);
  expect(bad.errors.map((e) => e.message)).toEqual(['b-policy.json: document 0: spec.authorities[0].keyless.trustRootRef: no TrustRoot named "missing" in the policy folder']);
  writeFileSync(join(dir, 'b-policy.json'), doc({ sigstoreKeys: KEYS }));
  expect((await loadPolicies(dir)).errors.map((e) => e.message).join()).toMatch(/duplicate TrustRoot name "private"/);
});
