/**
 * The status written on policy objects (knative's duck-typed Status, as policy-controller
 * writes it) and the writer: only when it differs, conditional on the resourceVersion, a
 * conflict read again rather than fought, a failure retried. The writer talks to the emulated
 * API server's storage (its resourceVersion and status-subresource rules), through the two
 * calls it makes.
 */
import fc from 'fast-check';
import { KubeApiError } from '../../../../src/webhook/kube/api';
import { clusterImagePolicies, type KubeObject, type KubeResource } from '../../../../src/webhook/kube/resources';
import { desiredStatus, hasStatus, kubeTime, MAX_MESSAGE_LENGTH, StatusWriter, type StatusApi } from '../../../../src/webhook/kube/status';
import type { Json } from '../../../support/json';
import { ApiError, deployResources, STANDARD_RESOURCES, Store } from '../../../support/kube-api';

const RESOURCE: KubeResource = clusterImagePolicies('v1beta1');
const T0 = new Date('2026-01-02T03:04:05.678Z');
const T1 = new Date('2026-01-02T04:00:00Z');

function object(status?: Json, generation = 1): KubeObject {
  return {
    apiVersion: 'policy.sigstore.dev/v1beta1',
    kind: 'ClusterImagePolicy',
    metadata: { name: 'p', generation, resourceVersion: '5' },
    spec: {},
    ...(status ? { status } : {}),
  };
}

describe('desiredStatus and hasStatus', () => {
  it('Ready True with observedGeneration; Ready False with reason and message', () => {
    expect(desiredStatus(object(undefined, 3), { ready: true }, T0)).toEqual({
      observedGeneration: 3,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-02T03:04:05Z' }],
    });
    expect(desiredStatus(object(), { ready: false, reason: 'InvalidSpec', message: 'spec.images: missing field' }, T0).conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: 'spec.images: missing field', lastTransitionTime: '2026-01-02T03:04:05Z' },
    ]);
  });

  it('keeps lastTransitionTime while the status stays, moves it when it changes', () => {
    const current = object({ observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: kubeTime(T0) }] });
    expect(desiredStatus(current, { ready: true }, T1).conditions[0]!.lastTransitionTime).toBe(kubeTime(T0));
    expect(desiredStatus(current, { ready: false, reason: 'InvalidSpec', message: 'x' }, T1).conditions[0]!.lastTransitionTime).toBe(kubeTime(T1));
  });

  it('bounds the message', () => {
    const message = desiredStatus(object(), { ready: false, reason: 'InvalidSpec', message: 'e'.repeat(10 * MAX_MESSAGE_LENGTH) }, T0).conditions[0]!.message!;
    expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(message).toMatch(/… \(40960 characters\)$/);
  });

  it("compares everything but the times; policy-controller's other conditions and fields are replaced", () => {
    const desired = desiredStatus(object(), { ready: true }, T1);
    expect(hasStatus(object({ observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: kubeTime(T0) }] }), desired)).toBe(true);
    expect(hasStatus(object({ observedGeneration: 0, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: kubeTime(T0) }] }), desired)).toBe(
      false,
    );
    expect(hasStatus(object(), desired)).toBe(false);
    const policyController = {
      observedGeneration: 1,
      conditions: [
        { type: 'ConfigMapUpdated', status: 'True', lastTransitionTime: kubeTime(T0) },
        { type: 'KeysInlined', status: 'True', lastTransitionTime: kubeTime(T0) },
        { type: 'Ready', status: 'True', lastTransitionTime: kubeTime(T0) },
      ],
    };
    expect(hasStatus(object(policyController), desired)).toBe(false);
    expect(hasStatus(object({ ...desired, annotations: { a: 'b' } }), desired)).toBe(false);
  });
});

describe('on hostile objects', () => {
  it('desiredStatus and hasStatus never throw, whatever status and generation an object has', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.boolean(), (status, generation, ready) => {
        const obj = { metadata: { name: 'p', generation }, status } as unknown as KubeObject;
        const desired = desiredStatus(obj, ready ? { ready } : { ready, reason: 'InvalidSpec', message: 'm' }, T0);
        expect(typeof hasStatus(obj, desired)).toBe('boolean');
        expect(typeof desired.conditions[0]!.lastTransitionTime).toBe('string');
      }),
    );
  });
});

describe('StatusWriter', () => {
  let store: Store;
  let writes: number;
  let failNext: number;
  const type = () => store.type('clusterimagepolicies.policy.sigstore.dev');

  /** The writer's two calls, on the emulated storage (its 404/409 rules), counting writes. */
  const api: StatusApi = {
    replaceStatus: async (_resource, obj, status) => {
      if (failNext > 0) {
        failNext--;
        throw new KubeApiError('update: HTTP 503', 503);
      }
      try {
        const written = store.update(
          type(),
          undefined,
          obj.metadata.name,
          { metadata: { name: obj.metadata.name, resourceVersion: obj.metadata.resourceVersion }, status },
          'v1beta1',
          { subresource: 'status' },
        );
        writes++;
        return written;
      } catch (err) {
        if (err instanceof ApiError) throw new KubeApiError(err.message, err.code, err.reason);
        throw err;
      }
    },
    get: async (_resource, name) => {
      try {
        return store.view(type(), store.get(type(), undefined, name), 'v1beta1');
      } catch (err) {
        if (err instanceof ApiError && err.code === 404) return undefined;
        throw err;
      }
    },
  };
  const results: string[] = [];
  const writer = (): StatusWriter => new StatusWriter(api, { log: () => undefined, count: (r) => results.push(r), now: () => T0, retryMs: 10 });

  beforeEach(() => {
    store = new Store([...STANDARD_RESOURCES, ...deployResources()]);
    writes = 0;
    failNext = 0;
    results.length = 0;
    store.create(type(), undefined, {
      apiVersion: 'policy.sigstore.dev/v1beta1',
      kind: 'ClusterImagePolicy',
      metadata: { name: 'p' },
      spec: { images: [{ glob: 'a/**' }], authorities: [{ static: { action: 'pass' } }] },
    });
  });

  const current = (): Json => store.view(type(), store.get(type(), undefined, 'p'), 'v1beta1');

  it('writes once, then not again for the same status', async () => {
    const w = writer();
    w.update(RESOURCE, current(), { ready: true });
    await w.idle();
    expect(current().status).toEqual({ observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: kubeTime(T0) }] });
    w.update(RESOURCE, current(), { ready: true });
    await w.idle();
    expect([writes, results]).toEqual([1, ['written', 'unchanged']]);
  });

  it('the latest wanted status per object wins', async () => {
    const w = writer();
    const seen = current();
    w.update(RESOURCE, seen, { ready: false, reason: 'InvalidSpec', message: 'first' });
    w.update(RESOURCE, seen, { ready: false, reason: 'InvalidSpec', message: 'second' });
    await w.idle();
    expect(current().status.conditions[0].message).toBe('second');
  });

  it('a conflict with the same status written by another replica: read again, nothing more written', async () => {
    const stale = current();
    const other = writer();
    other.update(RESOURCE, stale, { ready: true });
    await other.idle();
    const w = writer();
    w.update(RESOURCE, stale, { ready: true });
    await w.idle();
    expect(writes).toBe(1);
    expect(results).toEqual(['written', 'conflict']);
  });

  it('a conflict with a different status of the same generation: read again and written', async () => {
    const stale = current();
    store.update(
      type(),
      undefined,
      'p',
      { ...stale, status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'Other', lastTransitionTime: kubeTime(T0) }] } },
      'v1beta1',
      { subresource: 'status' },
    );
    const w = writer();
    w.update(RESOURCE, stale, { ready: true });
    await w.idle();
    expect(current().status.conditions[0]).toMatchObject({ status: 'True' });
    expect(results).toEqual(['written']);
  });

  it('a conflict with a new generation: left to the status computed for it', async () => {
    const stale = current();
    store.update(type(), undefined, 'p', { ...stale, spec: { ...stale.spec, mode: 'warn' } }, 'v1beta1');
    const w = writer();
    w.update(RESOURCE, stale, { ready: true });
    await w.idle();
    expect([writes, results, current().status]).toEqual([0, ['conflict'], undefined]);
  });

  it('a deleted object is gone; a failed write is retried', async () => {
    const w = writer();
    const seen = current();
    store.delete(type(), undefined, 'p');
    w.update(RESOURCE, seen, { ready: true });
    await w.idle();
    expect(results).toEqual(['gone']);

    store.create(type(), undefined, { apiVersion: 'policy.sigstore.dev/v1beta1', kind: 'ClusterImagePolicy', metadata: { name: 'p' }, spec: {} });
    failNext = 2;
    w.update(RESOURCE, current(), { ready: true });
    const deadline = Date.now() + 5000;
    while (writes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await w.idle();
    expect(results.slice(1)).toEqual(['failed', 'failed', 'written']);
    w.stop();
  });

  it('a retry never overtakes a newer wanted status', async () => {
    const w = writer();
    failNext = 1;
    w.update(RESOURCE, current(), { ready: false, reason: 'InvalidSpec', message: 'old' });
    await w.idle();
    w.update(RESOURCE, current(), { ready: true });
    await w.idle();
    await new Promise((r) => setTimeout(r, 100));
    await w.idle();
    expect(current().status.conditions[0]).toMatchObject({ status: 'True' });
    expect(writes).toBe(1);
    w.stop();
  });
});
