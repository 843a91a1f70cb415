/**
 * TrustRoot documents (policy.sigstore.dev/v1alpha1): validation, each error naming file,
 * document and field.
 */
import { parseClusterImagePolicies } from '../../../src/webhook';
import { trustRootText } from './policy-text';

const { doc, KEYS, CA_CHAIN, TLOG_KEY, b64 } = trustRootText('trustroot-unit.test');

function errors(text: string): string[] {
  return parseClusterImagePolicies(text, 'trust.json').errors.map((e) => e.message);
}

test("a valid sigstoreKeys TrustRoot parses (PEM as base64, as the CRD's []byte, or as PEM text)", () => {
  const result = parseClusterImagePolicies(doc({ sigstoreKeys: KEYS }), 'trust.json');
  expect(result.errors).toEqual([]);
  expect(result.trustRoots).toEqual([expect.objectContaining({ kind: 'TrustRoot', name: 'private', spec: expect.objectContaining({ kind: 'sigstoreKeys' }) })]);
  const plain = { ...KEYS, tLogs: [{ ...KEYS.tLogs[0], publicKey: Buffer.from(TLOG_KEY, 'base64').toString() }] };
  expect(errors(doc({ sigstoreKeys: plain }))).toEqual([]);
});

test.each(['sha256', 'sha-256', 'SHA2_256', 'sha-384', 'sha512'])(
  "a log hashAlgorithm spelled %j loads (sha-256 is the spelling of policy-controller's own example, pkg/apis/config/testdata/config-sigstore-keys.yaml)",
  (hashAlgorithm) => {
    expect(errors(doc({ sigstoreKeys: { ...KEYS, tLogs: [{ ...KEYS.tLogs[0], hashAlgorithm }] } }))).toEqual([]);
  },
);

test.each<[string, string, RegExp]>([
  ['no form', doc({}), /spec: expected exactly one of sigstoreKeys, remote, repository, got neither/],
  ['two forms', doc({ sigstoreKeys: KEYS, remote: { mirror: 'https://tuf.internal', root: b64('{}') } }), /got sigstoreKeys, remote/],
  [
    'certChain not base64',
    doc({ sigstoreKeys: { certificateAuthorities: [{ ...KEYS.certificateAuthorities[0], certChain: '%%%' }] } }),
    /certificateAuthorities\[0\]\.certChain: not base64/,
  ],
  [
    'certChain without a certificate',
    doc({ sigstoreKeys: { certificateAuthorities: [{ ...KEYS.certificateAuthorities[0], certChain: b64('hello') }] } }),
    /certChain holds no PEM certificate/,
  ],
  [
    'a tlog key that is not a key',
    doc({ sigstoreKeys: { ...KEYS, tLogs: [{ ...KEYS.tLogs[0], publicKey: CA_CHAIN }] } }),
    /tLogs\[0\]\.publicKey is not a PEM public key/,
  ],
  [
    'a log hash that is not SHA-2',
    doc({ sigstoreKeys: { ...KEYS, tLogs: [{ ...KEYS.tLogs[0], hashAlgorithm: 'md5' }] } }),
    /tLogs\[0\]\.hashAlgorithm "md5" is not sha256, sha384 or sha512/,
  ],
  ['no CA and no TSA', doc({ sigstoreKeys: { tLogs: KEYS.tLogs } }), /at least one of certificateAuthorities, timestampAuthorities/],
  ['an unknown field', doc({ sigstoreKeys: { ...KEYS, rekor: 1 } }), /spec\.sigstoreKeys\.rekor: unknown field/],
  ['remote without mirror', doc({ remote: { root: b64('{}') } }), /spec\.remote\.mirror: missing field/],
  ['repository without mirrorFS', doc({ repository: { root: b64('{}') } }), /spec\.repository\.mirrorFS: missing field/],
  // A query or fragment would ride on every file fetched from the mirror (issue 20.11: one made the webhook GET /internal/admin?action=delete).
  [
    'a mirror with a query',
    doc({ remote: { mirror: 'http://10.0.0.5/internal/admin?action=delete', root: b64('{}') } }),
    /spec\.remote\.mirror: has a query .*"http:\/\/10\.0\.0\.5\/internal\/admin"/,
  ],
  ['a mirror with an empty query', doc({ remote: { mirror: 'https://tuf.internal/?', root: b64('{}') } }), /spec\.remote\.mirror: has a query/],
  ['a mirror with a fragment', doc({ remote: { mirror: 'https://tuf.internal/#x', root: b64('{}') } }), /spec\.remote\.mirror: has a fragment/],
  ['a mirror with user info', doc({ remote: { mirror: 'https://u:secret@tuf.internal', root: b64('{}') } }), /spec\.remote\.mirror: has user info/],
  ['a mirror that is not http(s)', doc({ remote: { mirror: 'file:///etc', root: b64('{}') } }), /spec\.remote\.mirror: not an http\(s\) URL/],
  [
    'targets with a query',
    doc({ remote: { mirror: 'https://tuf.internal', targets: 'targets?x=1', root: b64('{}') } }),
    /spec\.remote\.targets: .*may not hold "\?"/,
  ],
  ['targets climbing out', doc({ repository: { root: b64('{}'), mirrorFS: b64('x'), targets: '../admin' } }), /spec\.repository\.targets: .*"\.\." segments/],
  [
    'targets as %2e%2e',
    doc({ remote: { mirror: 'https://tuf.internal', targets: 'a/%2E%2e/b', root: b64('{}') } }),
    /spec\.remote\.targets: .*"\.\." segments/,
  ],
  ['another apiVersion', doc({ sigstoreKeys: KEYS }, { apiVersion: 'policy.sigstore.dev/v1beta1' }), /unsupported apiVersion .* for a TrustRoot/],
])('%s is an error naming the field', (_name, text, message) => {
  expect(errors(text).join('\n')).toMatch(message);
});

test('a secret in a refused mirror URL is not echoed', () => {
  const text = errors(doc({ remote: { mirror: 'https://u:hunter2@tuf.internal/?token=abc', root: b64('{}') } })).join('\n');
  expect(text).toMatch(/spec\.remote\.mirror/);
  expect(text).not.toMatch(/hunter2|token=abc/);
});

test('a mirror with a path and nested targets loads', () => {
  expect(errors(doc({ remote: { mirror: 'https://tuf.internal/repo/', targets: 'a/targets', root: b64('{}') } }))).toEqual([]);
});
