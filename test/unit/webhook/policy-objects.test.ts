/**
 * ClusterImagePolicy and TrustRoot objects one at a time, as the cluster source loads them:
 * `key.secretRef` and `ca-cert.secretRef` read through the Secret lookup (errors at the
 * secretRef's path), messages by field path; apply-time validation (a Secret that may come
 * later is not an error; one that exists is checked), and its AdmissionReview decisions.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { SecretLookup } from '../../../src/webhook/crd-document';
import { decideAdmission } from '../../../src/webhook/decide';
import { PolicyEvaluator } from '../../../src/webhook/evaluate';
import { loadPolicyObject, validatePolicyObject } from '../../../src/webhook/policy-objects';
import type { Json } from '../../support/json';
import { createTestSigstore } from '../../support/sigstore';

const KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const CA = (() => {
  const root = createTestSigstore().trustedRoot.certificateAuthorities[0]!;
  return root.certChain.certificates
    .map((c) => `-----BEGIN CERTIFICATE-----\n${c.rawBytes.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`)
    .join('');
})();

const SECRETS: Record<string, string> = { key: KEY, ca: CA, junk: 'not a key' };
const lookup: SecretLookup = ({ name }) =>
  name in SECRETS ? { value: SECRETS[name]! } : { error: `Secret "${name}" not found in namespace "imgverify-system"`, missing: true };

function cip(authority: Json, name = 'p'): Json {
  return {
    apiVersion: 'policy.sigstore.dev/v1beta1',
    kind: 'ClusterImagePolicy',
    metadata: { name, generation: 2, resourceVersion: '9' },
    spec: { images: [{ glob: 'registry.example/**' }], authorities: [authority] },
    status: { observedGeneration: 1 },
  };
}

const keylessWithCa = (caCert: Json): Json => ({
  keyless: { 'ca-cert': caCert, identities: [{ issuer: 'https://issuer.example', subject: 'me@example.test' }] },
});

describe('loadPolicyObject with Secrets', () => {
  it("key.secretRef: the Secret's PEM becomes the key", () => {
    const result = loadPolicyObject('ClusterImagePolicy', cip({ key: { secretRef: { name: 'key' } } }), 'p', lookup);
    expect(result.errors).toEqual([]);
    expect(result.policies[0]!.authorities[0]!.key).toEqual({ data: KEY, hashAlgorithm: 'sha256' });
  });

  it("ca-cert.secretRef: the Secret's chain becomes the CA", () => {
    const result = loadPolicyObject('ClusterImagePolicy', cip(keylessWithCa({ secretRef: { name: 'ca' } })), 'p', lookup);
    expect(result.errors).toEqual([]);
    expect(result.policies[0]!.authorities[0]!.keyless!.caCert).toBe(CA);
  });

  it.each([
    [
      'a missing Secret',
      { key: { secretRef: { name: 'gone' } } },
      'spec.authorities[0].key.secretRef: Secret "gone" not found in namespace "imgverify-system"',
    ],
    [
      'a Secret that is no key',
      { key: { secretRef: { name: 'junk' } } },
      'spec.authorities[0].key.secretRef: not a PEM public key: expected a PUBLIC KEY PEM block',
    ],
    ['a CA Secret that is no chain', keylessWithCa({ secretRef: { name: 'junk' } }), 'spec.authorities[0].keyless.ca-cert.secretRef'],
    [
      'both data and secretRef',
      { key: { data: KEY, secretRef: { name: 'key' } } },
      'spec.authorities[0].key: expected exactly one, got both: spec.authorities[0].key.data, spec.authorities[0].key.kms, spec.authorities[0].key.secretRef (data and secretRef set)',
    ],
    ['a secretRef without a name', { key: { secretRef: {} } }, 'spec.authorities[0].key.secretRef.name: missing field'],
    ['a secretRef with an unknown field', { key: { secretRef: { name: 'key', key: 'cosign.pub' } } }, 'spec.authorities[0].key.secretRef.key: unknown field'],
  ])('%s: an error at its path, no policy', (_what, authority, message) => {
    const result = loadPolicyObject('ClusterImagePolicy', cip(authority), 'p', lookup);
    expect(result.policies).toEqual([]);
    expect(result.errors.map((e) => e.message).join('\n')).toContain(`ClusterImagePolicy p: document 0: ${message}`);
  });

  it('without a lookup (a policy folder) a secretRef is refused', () => {
    const result = loadPolicyObject('ClusterImagePolicy', cip({ key: { secretRef: { name: 'key' } } }), 'p');
    expect(result.errors.map((e) => e.message)).toEqual([
      'ClusterImagePolicy p: document 0: spec.authorities[0].key.secretRef: unsupported field: keys in Kubernetes Secrets are read when the webhook reads its policies from the cluster; in a policy folder put the PEM public key in key.data',
    ]);
  });

  it("an object of another kind than its informer's is not loaded", () => {
    expect(loadPolicyObject('TrustRoot', cip({ static: { action: 'pass' } }), 'p').policies).toEqual([]);
  });
});

describe('validatePolicyObject (apply time)', () => {
  it('names each error by its field path only', () => {
    expect(validatePolicyObject(cip({ keyless: { identities: [{ issuer: 'x' }] }, surprise: 1 }))).toEqual([
      'spec.authorities[0].surprise: unknown field',
      'spec.authorities[0].keyless.identities[0]: missing field(s): one of spec.authorities[0].keyless.identities[0].subject, spec.authorities[0].keyless.identities[0].subjectRegExp is required',
    ]);
    expect(validatePolicyObject(cip({ static: { action: 'pass' } }))).toEqual([]);
  });

  it('a Secret that does not exist yet is no error; one that exists is checked', () => {
    expect(validatePolicyObject(cip({ key: { secretRef: { name: 'created-later' } } }), lookup)).toEqual([]);
    expect(validatePolicyObject(cip({ key: { secretRef: { name: 'created-later' } } }))).toEqual([]);
    expect(validatePolicyObject(cip({ key: { secretRef: { name: 'junk' } } }), lookup)).toEqual([
      'spec.authorities[0].key.secretRef: not a PEM public key: expected a PUBLIC KEY PEM block',
    ]);
  });
});

describe('AdmissionReviews of policy objects', () => {
  const evaluator = new PolicyEvaluator({
    backend: {
      session: () => {
        throw new Error('no image is verified for a policy object');
      },
    } as never,
  });
  const request = (object: Json, extra: Json = {}): Json => ({
    uid: 'u-1',
    kind: { group: 'policy.sigstore.dev', version: 'v1beta1', kind: object.kind },
    resource: { group: 'policy.sigstore.dev', version: 'v1beta1', resource: 'clusterimagepolicies' },
    name: object.metadata.name,
    operation: 'CREATE',
    object,
    oldObject: null,
    dryRun: false,
    ...extra,
  });
  const validate = (object: unknown) => validatePolicyObject(object);
  const signal = new AbortController().signal;

  it('denies an invalid one on /validate with the messages; admits a valid one', async () => {
    const denied = await decideAdmission(evaluator, request(cip({ key: { data: 'x' } }, 'bad')), false, signal, validate);
    expect(denied.denied).toBe(true);
    expect(denied.review.response.status?.message).toBe(
      'imgverify: ClusterImagePolicy "bad" is invalid: spec.authorities[0].key.data: not a PEM public key: expected a PUBLIC KEY PEM block',
    );
    expect((await decideAdmission(evaluator, request(cip({ static: { action: 'pass' } })), false, signal, validate)).denied).toBe(false);
  });

  it('admits on /mutate, for DELETE and for the status subresource (they change no spec)', async () => {
    const bad = cip({ key: { data: 'x' } });
    expect((await decideAdmission(evaluator, request(bad), true, signal, validate)).denied).toBe(false);
    expect((await decideAdmission(evaluator, request(bad, { operation: 'DELETE', object: null, oldObject: bad }), false, signal, validate)).denied).toBe(false);
    expect(
      (await decideAdmission(evaluator, request(bad, { operation: 'UPDATE', subResource: 'status', oldObject: bad }), false, signal, validate)).denied,
    ).toBe(false);
  });

  it('checks TrustRoots too', async () => {
    const trustRoot = {
      apiVersion: 'policy.sigstore.dev/v1alpha1',
      kind: 'TrustRoot',
      metadata: { name: 'tr' },
      spec: { sigstoreKeys: { certificateAuthorities: 'no' } },
    };
    const denied = await decideAdmission(evaluator, request(trustRoot), false, signal, validate);
    expect(denied.review.response.status?.message).toMatch(/^imgverify: TrustRoot "tr" is invalid: spec\.sigstoreKeys\.certificateAuthorities: /);
  });
});
