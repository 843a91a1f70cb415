/**
 * The namespaced ImagePolicy (policy.imgverify.dev/v1alpha1): a ClusterImagePolicy's spec,
 * applying to the objects of its namespace only, in addition to the cluster's policies (AND).
 */
import { decideAdmission } from '../../../src/webhook/decide';
import { parseAdmissionReview } from '../../../src/webhook/admission';
import { policyKey } from '../../../src/webhook/cluster-image-policy-types';
import { PolicyEvaluator } from '../../../src/webhook/evaluate';
import { parseClusterImagePolicies, parsePolicyObject } from '../../../src/webhook/policy-documents';
import { loadPolicyObject, validatePolicyObject } from '../../../src/webhook/policy-objects';
import { policyAppliesTo } from '../../../src/webhook/resource-match';
import { FakeBackend, ISSUER, releaseKey } from './fake-backend';

const SPEC = { images: [{ glob: 'registry.test/**' }], authorities: [{ name: 'key', key: { data: releaseKey } }] };
const imagePolicy = (namespace: string | undefined, name = 'team', spec: Record<string, unknown> = SPEC): Record<string, unknown> => ({
  apiVersion: 'policy.imgverify.dev/v1alpha1',
  kind: 'ImagePolicy',
  metadata: { name, ...(namespace !== undefined ? { namespace } : {}) },
  spec,
});

function errors(doc: unknown): Array<[string | undefined, string]> {
  return parsePolicyObject(doc, { file: 'p.yaml', document: 0 }).errors.map((e) => [(e.details as { path?: string }).path, e.message]);
}

describe('ImagePolicy documents', () => {
  test('load with their namespace, named namespace/name', () => {
    const { policies, errors: problems } = parsePolicyObject(imagePolicy('team-a'), { file: 'p.yaml', document: 0 });
    expect(problems).toEqual([]);
    expect(policies[0]).toMatchObject({ name: 'team', namespace: 'team-a', apiVersion: 'policy.imgverify.dev/v1alpha1', mode: 'enforce' });
    expect(policyKey(policies[0]!)).toBe('team-a/team');
  });

  test.each([
    ['no namespace', imagePolicy(undefined), 'metadata.namespace', 'missing field: metadata.namespace is required'],
    ['an invalid namespace', imagePolicy('Team_A'), 'metadata.namespace', 'must be a lower-case RFC 1123 label'],
    [
      'the ClusterImagePolicy group',
      { ...imagePolicy('a'), apiVersion: 'policy.sigstore.dev/v1beta1' },
      'apiVersion',
      'expected policy.imgverify.dev/v1alpha1',
    ],
    [
      'a key in a Secret',
      imagePolicy('a', 'team', { ...SPEC, authorities: [{ key: { secretRef: { name: 'k' } } }] }),
      'spec.authorities[0].key.secretRef',
      'an ImagePolicy cannot name a Secret',
    ],
    [
      'a CA in a Secret',
      imagePolicy('a', 'team', {
        ...SPEC,
        authorities: [{ keyless: { identities: [{ issuer: ISSUER, subject: 's' }], 'ca-cert': { secretRef: { name: 'k' } } } }],
      }),
      'spec.authorities[0].keyless.ca-cert.secretRef',
      'an ImagePolicy cannot name a Secret',
    ],
    [
      'a spec error, as in a ClusterImagePolicy',
      imagePolicy('a', 'team', { images: [], authorities: SPEC.authorities }),
      'spec.images',
      'at least one image glob',
    ],
  ])('refuse %s, naming the field', (_what, doc, path, message) => {
    expect(errors(doc)).toEqual(expect.arrayContaining([[path, expect.stringContaining(message)]]));
  });

  test("a secretRef is refused even where the cluster's Secret lookup is at hand (it would read the webhook's namespace)", () => {
    const lookup = jest.fn(() => ({ value: releaseKey }));
    const result = loadPolicyObject(
      'ImagePolicy',
      imagePolicy('a', 'team', { ...SPEC, authorities: [{ key: { secretRef: { name: 'k' } } }] }),
      'a/team',
      lookup,
    );
    expect(result.policies).toEqual([]);
    expect(lookup).not.toHaveBeenCalled();
  });

  test('names are unique per namespace; the same name in two namespaces, or a ClusterImagePolicy of that name, is fine', () => {
    const cip = { apiVersion: 'policy.sigstore.dev/v1beta1', kind: 'ClusterImagePolicy', metadata: { name: 'team' }, spec: SPEC };
    const ok = parseClusterImagePolicies([imagePolicy('a'), imagePolicy('b'), cip].map((d) => JSON.stringify(d)).join('\n---\n'), 'p.yaml');
    expect(ok.errors).toEqual([]);
    expect(ok.policies.map(policyKey)).toEqual(['a/team', 'b/team', 'team']);
    const dup = parseClusterImagePolicies([imagePolicy('a'), imagePolicy('a')].map((d) => JSON.stringify(d)).join('\n---\n'), 'p.yaml');
    expect(dup.errors.map((e) => e.message)).toEqual([expect.stringContaining('duplicate ImagePolicy name "a/team"')]);
  });

  test('an informer of ImagePolicies loads no ClusterImagePolicy, and the other way round', () => {
    expect(
      loadPolicyObject('ImagePolicy', { apiVersion: 'policy.sigstore.dev/v1beta1', kind: 'ClusterImagePolicy', metadata: { name: 'x' }, spec: SPEC }, 'x')
        .policies,
    ).toEqual([]);
    expect(loadPolicyObject('ClusterImagePolicy', imagePolicy('a'), 'a/team').policies).toEqual([]);
  });

  test('apply-time validation checks ImagePolicy objects (the webhook configuration sends them to /validate)', async () => {
    expect(validatePolicyObject(imagePolicy(undefined))).toEqual([expect.stringContaining('metadata.namespace: missing field')]);
    const review = (object: unknown) =>
      parseAdmissionReview({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'u',
          kind: { group: 'policy.imgverify.dev', version: 'v1alpha1', kind: 'ImagePolicy' },
          resource: { group: 'policy.imgverify.dev', version: 'v1alpha1', resource: 'imagepolicies' },
          name: 'team',
          namespace: 'a',
          operation: 'CREATE',
          object,
          oldObject: null,
        },
      });
    const evaluator = new PolicyEvaluator({ backend: new FakeBackend() });
    const bad = await decideAdmission(evaluator, review(imagePolicy('a', 'team', { images: [] })), false, new AbortController().signal, validatePolicyObject);
    expect(bad.denied).toBe(true);
    expect(bad.review.response.status?.message).toContain('ImagePolicy "team" is invalid: spec.images');
    const good = await decideAdmission(evaluator, review(imagePolicy('a')), false, new AbortController().signal, validatePolicyObject);
    expect(good.denied).toBe(false);
  });
});

describe('where an ImagePolicy applies', () => {
  const [ip] = parsePolicyObject(imagePolicy('team-a'), { file: 'p.yaml', document: 0 }).policies;
  const object = { resource: { group: '', version: 'v1', resource: 'pods' }, labels: {} };

  test('to objects of its namespace only; without a namespace to decide on, to every image (the stricter reading)', () => {
    expect(policyAppliesTo(ip!, object, 'team-a')).toBe(true);
    expect(policyAppliesTo(ip!, object, 'team-b')).toBe(false);
    expect(policyAppliesTo(ip!, undefined, undefined)).toBe(true);
  });

  test('in addition to the cluster policies: an image must satisfy both (AND)', async () => {
    const backend = new FakeBackend();
    const evaluator = new PolicyEvaluator({ backend });
    const cip = parsePolicyObject(
      {
        apiVersion: 'policy.sigstore.dev/v1beta1',
        kind: 'ClusterImagePolicy',
        metadata: { name: 'release' },
        spec: { images: [{ glob: 'registry.test/**' }], authorities: [{ keyless: { identities: [{ issuer: ISSUER, subject: 'release@example.test' }] } }] },
      },
      { file: 'p.yaml', document: 1 },
    ).policies;
    evaluator.setPolicies({ policies: [...cip, ip!], version: 'v1', errors: [] });
    // registry.test/app:v1 is signed keyless only: the cluster's policy passes, team-a's needs the key.
    const [inB] = await evaluator.evaluate(['registry.test/app:v1'], { namespace: 'team-b' });
    const [inA] = await evaluator.evaluate(['registry.test/app:v1'], { namespace: 'team-a' });
    expect(inB!.verdict).toBe('allowed');
    expect(inA!.verdict).toBe('denied');
    expect(inA!.policies.map((p) => [p.policy, p.passed])).toEqual([
      ['release', true],
      ['team-a/team', false],
    ]);
    expect(inA!.reason).toContain('policy "team-a/team"');
  });
});
