/**
 * Audits of running Pods against a scripted backend: a Pod's verdict is its worst image's and
 * every image keeps its own (kyverno/policies#1233); the running digest is what is verified;
 * each distinct digest is verified once per run, and every run verifies again, whatever the
 * admission cache holds (kyverno#7525); ImagePolicies and spec.match see the Pod; bounded
 * concurrency; finished Pods skipped.
 */
import { ImgverifyError } from '../../../src/errors';
import { auditPods } from '../../../src/webhook/audit';
import { decideAdmission } from '../../../src/webhook/decide';
import { parseAdmissionReview } from '../../../src/webhook/admission';
import { PolicyEvaluator } from '../../../src/webhook/evaluate';
import { parsePolicyObject } from '../../../src/webhook/policy-documents';
import type { ClusterImagePolicy } from '../../../src/webhook/cluster-image-policy-types';
import { D1, D2, D3, FakeBackend, ISSUER, releaseKey } from './fake-backend';

function policies(...docs: Array<Record<string, unknown>>): ClusterImagePolicy[] {
  return docs.flatMap((doc, i) => {
    const result = parsePolicyObject(doc, { file: 'p.yaml', document: i });
    if (result.errors[0]) throw result.errors[0];
    return result.policies;
  });
}

const RELEASE = {
  apiVersion: 'policy.sigstore.dev/v1beta1',
  kind: 'ClusterImagePolicy',
  metadata: { name: 'release' },
  spec: {
    images: [{ glob: 'registry.test/app**' }],
    authorities: [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: 'release@example.test' }] } }],
  },
};
const KEYED = {
  apiVersion: 'policy.sigstore.dev/v1beta1',
  kind: 'ClusterImagePolicy',
  metadata: { name: 'keyed' },
  spec: { images: [{ glob: 'registry.test/other**' }], authorities: [{ name: 'key', key: { data: releaseKey } }] },
};
const TOOLS = {
  apiVersion: 'policy.sigstore.dev/v1beta1',
  kind: 'ClusterImagePolicy',
  metadata: { name: 'tools' },
  spec: {
    images: [{ glob: 'elsewhere.test/**' }],
    authorities: [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: 'release@example.test' }] } }],
  },
};
/** team-a's own policy: its app images must also be key-signed (which D1 is not). */
const TEAM_A = {
  apiVersion: 'policy.imgverify.dev/v1alpha1',
  kind: 'ImagePolicy',
  metadata: { name: 'strict', namespace: 'team-a' },
  spec: { images: [{ glob: 'registry.test/app**' }], authorities: [{ name: 'key', key: { data: releaseKey } }] },
};

let version = 0;
function setup(cacheTtlMs = 0) {
  const backend = new FakeBackend();
  const evaluator = new PolicyEvaluator({ backend, cacheTtlMs });
  evaluator.setPolicies({ policies: policies(RELEASE, KEYED, TOOLS, TEAM_A), version: `v${++version}`, errors: [] });
  return { backend, evaluator };
}

interface PodSpec {
  containers: Array<[name: string, image: string, imageID?: string]>;
  init?: Array<[name: string, image: string, imageID?: string]>;
  phase?: string;
  labels?: Record<string, string>;
}

function pod(namespace: string, name: string, spec: PodSpec): Record<string, unknown> {
  const list = (entries: PodSpec['containers'] | undefined) => (entries ?? []).map(([n, image]) => ({ name: n, image }));
  const statuses = (entries: PodSpec['containers'] | undefined) =>
    (entries ?? []).filter(([, , id]) => id !== undefined).map(([n, image, imageID]) => ({ name: n, image, imageID }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, uid: `uid-${name}`, ...(spec.labels ? { labels: spec.labels } : {}) },
    spec: { ...(spec.init ? { initContainers: list(spec.init) } : {}), containers: list(spec.containers) },
    status: { phase: spec.phase ?? 'Running', initContainerStatuses: statuses(spec.init), containerStatuses: statuses(spec.containers) },
  };
}

describe('auditPods', () => {
  test('a multi-image Pod fails when any image fails, and each image keeps its own verdict and reason (kyverno/policies#1233)', async () => {
    const { evaluator } = setup();
    const result = await auditPods(evaluator, [
      pod('team-b', 'multi', {
        init: [['init', 'registry.test/app:v1', `registry.test/app@${D1}`]],
        containers: [
          ['app', 'registry.test/other:v1', `docker-pullable://registry.test/other@${D2}`],
          ['tool', 'elsewhere.test/tool:v1', `elsewhere.test/tool@${D3}`],
        ],
      }),
    ]);
    const [multi] = result.pods;
    expect(multi).toMatchObject({ namespace: 'team-b', name: 'multi', uid: 'uid-multi', verdict: 'denied', operational: false });
    expect(multi!.images.map((i) => [i.container, i.image, i.source, i.decision.verdict])).toEqual([
      ['init', `registry.test/app:v1@${D1}`, 'imageID', 'allowed'],
      ['app', `registry.test/other:v1@${D2}`, 'imageID', 'allowed'],
      ['tool', `elsewhere.test/tool:v1@${D3}`, 'imageID', 'denied'],
    ]);
    expect(multi!.images[2]!.decision.reason).toContain('[NO_SIGNATURES]');
    expect(multi!.message).toMatch(/^imgverify denied 1 of 3 images: elsewhere\.test\/tool:v1@/);
    expect(result.summary).toEqual({ pods: { allowed: 0, warned: 0, denied: 1 }, images: { allowed: 2, warned: 0, denied: 1 } });
  });

  test('the running digest is what is verified, not where the tag points now', async () => {
    const { evaluator, backend } = setup();
    // The tag now points at an unsigned digest; the container runs the signed one.
    backend.tags.set('registry.test/app:v2', D3);
    const result = await auditPods(evaluator, [
      pod('team-b', 'running-signed', { containers: [['app', 'registry.test/app:v2', `registry.test/app@${D1}`]] }),
      pod('team-b', 'pending', { containers: [['app', 'registry.test/app:v2']] }),
    ]);
    const verdicts = Object.fromEntries(result.pods.map((p) => [p.name, [p.verdict, p.images[0]!.image, p.images[0]!.source]]));
    expect(verdicts).toEqual({
      'running-signed': ['allowed', `registry.test/app:v2@${D1}`, 'imageID'],
      // No imageID yet: the spec's tag, resolved now.
      pending: ['denied', 'registry.test/app:v2', 'spec'],
    });
  });

  test("a Pod's namespace brings its ImagePolicies (AND), and spec.match sees the Pod's resource and labels", async () => {
    const { evaluator } = setup();
    const running = (ns: string, name: string) => pod(ns, name, { containers: [['app', 'registry.test/app:v1', `registry.test/app@${D1}`]] });
    const result = await auditPods(evaluator, [running('team-a', 'in-a'), running('team-b', 'in-b')]);
    expect(result.pods.map((p) => [p.namespace, p.verdict])).toEqual([
      ['team-a', 'denied'],
      ['team-b', 'allowed'],
    ]);
    expect(result.pods[0]!.images[0]!.decision.reason).toContain('policy "team-a/strict"');
  });

  test('each distinct digest is verified once per run; the next run verifies again', async () => {
    const { evaluator, backend } = setup();
    const pods = Array.from({ length: 12 }, (_, i) =>
      pod(i % 2 ? 'team-b' : 'team-c', `p${i}`, { containers: [['app', 'registry.test/app:v1', `registry.test/app@${D1}`]] }),
    );
    await auditPods(evaluator, pods, { concurrency: 4 });
    expect(backend.verifyCalls).toBe(1);
    await auditPods(evaluator, pods, { concurrency: 4 });
    expect(backend.verifyCalls).toBe(2);
  });

  test('a signature deleted since is noticed by the next run, whatever the admission cache holds (kyverno#7525)', async () => {
    const { evaluator, backend } = setup(5 * 60_000);
    const running = pod('team-b', 'app', { containers: [['app', 'registry.test/app:v1', `registry.test/app@${D1}`]] });
    // An admission passes and caches the verdict for 5 minutes.
    const review = parseAdmissionReview({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'u1',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace: 'team-b',
        operation: 'CREATE',
        object: running,
        oldObject: null,
      },
    });
    expect((await decideAdmission(evaluator, review, false, new AbortController().signal)).denied).toBe(false);
    expect((await auditPods(evaluator, [running])).pods[0]!.verdict).toBe('allowed');

    backend.signatures.set(D1, []);
    // The admission cache still says allowed (its TTL bounds that)...
    expect((await decideAdmission(evaluator, { ...review, uid: 'u2' }, false, new AbortController().signal)).denied).toBe(false);
    // ...the audit does not use it.
    const after = await auditPods(evaluator, [running]);
    expect(after.pods[0]!.verdict).toBe('denied');
    expect(after.pods[0]!.images[0]!.decision.reason).toContain('[NO_SIGNATURES]');
  });

  test('at most concurrency × 2 verifications in flight; progress after each Pod', async () => {
    const { evaluator, backend } = setup();
    let inFlight = 0;
    let most = 0;
    const session = backend.session.bind(backend);
    backend.session = (signal) => {
      const s = session(signal);
      return {
        ...s,
        verify: async (...args) => {
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise((r) => setTimeout(r, 5));
          try {
            return await s.verify(...args);
          } finally {
            inFlight--;
          }
        },
      };
    };
    // Every Pod a distinct digest (no sharing), three images each.
    for (let i = 0; i < 20; i++) backend.signatures.set(`sha256:${i.toString(16).padStart(64, 'e')}`, [{ subject: 'release@example.test', issuer: ISSUER }]);
    const pods = Array.from({ length: 20 }, (_, i) => {
      const d = `sha256:${i.toString(16).padStart(64, 'e')}`;
      return pod('team-b', `p${i}`, {
        containers: [
          ['a', 'registry.test/app:x', `registry.test/app@${d}`],
          ['b', 'registry.test/app:y', `registry.test/app@${d}`],
          ['c', 'registry.test/app:z', `registry.test/app@${d}`],
        ],
      });
    });
    const progress: number[] = [];
    const result = await auditPods(evaluator, pods, { concurrency: 3, onProgress: (done, total) => progress.push(done / total) });
    expect(result.summary.pods.allowed).toBe(20);
    expect(most).toBeLessThanOrEqual(6);
    expect(most).toBeGreaterThan(1);
    expect(progress).toHaveLength(20);
    expect(progress.at(-1)).toBe(1);
  });

  test('finished Pods are skipped; a Pod whose images cannot be read is denied with why; registry failures are operational', async () => {
    const { evaluator, backend } = setup();
    const result = await auditPods(evaluator, [
      pod('team-b', 'done', { containers: [['app', 'elsewhere.test/tool:v1']], phase: 'Succeeded' }),
      pod('team-b', 'failed', { containers: [['app', 'elsewhere.test/tool:v1']], phase: 'Failed' }),
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad', namespace: 'team-b' }, spec: { containers: { not: 'a list' } } },
    ]);
    expect(result.skipped).toBe(2);
    expect(result.pods).toEqual([expect.objectContaining({ name: 'bad', verdict: 'denied', malformed: expect.stringContaining('/spec/containers') })]);

    backend.failure = new ImgverifyError('REGISTRY_UNREACHABLE', 'registry down');
    const down = await auditPods(evaluator, [pod('team-b', 'p', { containers: [['app', 'registry.test/app:v1', `registry.test/app@${D1}`]] })]);
    expect(down.pods[0]).toMatchObject({ verdict: 'denied', operational: true });
  });
});
