import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import {
  admissionResponse,
  buildImagePatch,
  changedImages,
  extractImages,
  jsonPointer,
  parseAdmissionReview,
  skipReason,
  workloadKind,
  type AdmissionRequest,
  type JsonPatchReplace,
} from '../../../src/webhook/admission';

const DIGEST = 'sha256:' + 'ab'.repeat(32);

function podSpec(images: { init?: string[]; main?: string[]; ephemeral?: string[] }): Record<string, unknown> {
  const containers = (list: string[] | undefined, prefix: string) => list?.map((image, i) => ({ name: `${prefix}${i}`, image }));
  return {
    ...(images.init ? { initContainers: containers(images.init, 'init') } : {}),
    containers: containers(images.main ?? ['nginx'], 'c'),
    ...(images.ephemeral ? { ephemeralContainers: containers(images.ephemeral, 'debug') } : {}),
  };
}

function review(request: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'apps',
      operation: 'CREATE',
      userInfo: { username: 'alice', groups: ['system:authenticated'] },
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: podSpec({ main: ['nginx:1.25'] }) },
      oldObject: null,
      dryRun: false,
      ...request,
    },
  };
}

describe('parseAdmissionReview', () => {
  it('reads a v1 AdmissionReview', () => {
    const request = parseAdmissionReview(review({}));
    expect(request).toMatchObject({
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'apps',
      operation: 'CREATE',
      userInfo: { username: 'alice', groups: ['system:authenticated'] },
      oldObject: null,
      dryRun: false,
    });
    expect(request.object).toMatchObject({ kind: 'Pod' });
  });

  it('reads UPDATE (object and oldObject), DELETE (no object) and subresources', () => {
    const old = { spec: podSpec({ main: ['nginx:1.24'] }) };
    expect(parseAdmissionReview(review({ operation: 'UPDATE', oldObject: old })).oldObject).toBe(old);
    expect(parseAdmissionReview(review({ operation: 'DELETE', object: null, oldObject: old })).object).toBeNull();
    expect(parseAdmissionReview(review({ operation: 'UPDATE', oldObject: old, subResource: 'ephemeralcontainers' })).subResource).toBe('ephemeralcontainers');
  });

  it.each([
    ['not an object', [], '(body)'],
    ['v1beta1', { ...review({}), apiVersion: 'admission.k8s.io/v1beta1' }, 'apiVersion'],
    ['wrong kind', { ...review({}), kind: 'AdmissionResponse' }, 'kind'],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'request'],
    ['no uid', review({ uid: undefined }), 'request.uid'],
    ['empty uid', review({ uid: '' }), 'request.uid'],
    ['numeric uid', review({ uid: 7 }), 'request.uid'],
    ['huge uid', review({ uid: 'x'.repeat(5000) }), 'request.uid'],
    ['kind as a string', review({ kind: 'Pod' }), 'request.kind'],
    ['kind without version', review({ kind: { group: '', kind: 'Pod' } }), 'request.kind.version'],
    ['no resource', review({ resource: undefined }), 'request.resource'],
    ['unknown operation', review({ operation: 'PATCH' }), 'request.operation'],
    ['CREATE without object', review({ object: null }), 'request.object'],
    ['object not an object', review({ object: 'pod' }), 'request.object'],
    ['UPDATE without oldObject', review({ operation: 'UPDATE' }), 'request.oldObject'],
    ['groups not strings', review({ userInfo: { groups: [1] } }), 'request.userInfo.groups'],
    ['dryRun not boolean', review({ dryRun: 'yes' }), 'request.dryRun'],
    ['namespace not a string', review({ namespace: 5 }), 'request.namespace'],
  ])('rejects %s', (_name, body, path) => {
    let error: unknown;
    try {
      parseAdmissionReview(body);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ImgverifyError);
    expect((error as ImgverifyError).code).toBe('INVALID_OPTIONS');
    expect((error as ImgverifyError).details).toEqual({ admissionReview: true, path });
  });

  it('ignores inherited properties', () => {
    const body = Object.create(review({})) as object;
    expect(() => parseAdmissionReview(body)).toThrow(/apiVersion/);
  });

  it('throws nothing but ImgverifyError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBoxedValues: true, withMap: true, withSparseArray: true }), (body) => {
        try {
          parseAdmissionReview(body);
        } catch (err) {
          expect(err).toBeInstanceOf(ImgverifyError);
        }
      }),
    );
  });

  it('throws nothing but ImgverifyError when any field of a valid review is replaced', () => {
    const fields = ['uid', 'kind', 'resource', 'operation', 'object', 'oldObject', 'namespace', 'name', 'userInfo', 'dryRun', 'subResource'];
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.anything(), fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT'), (field, value, operation) => {
        const body = review({ operation, oldObject: { spec: {} }, [field]: value });
        try {
          const request = parseAdmissionReview(body);
          expect(typeof request.uid).toBe('string');
          expect(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']).toContain(request.operation);
        } catch (err) {
          expect(err).toBeInstanceOf(ImgverifyError);
        }
      }),
    );
  });
});

describe('extractImages', () => {
  const spec = podSpec({ init: ['busybox:1.36'], main: ['nginx:1.25', `ghcr.io/org/app@${DIGEST}`], ephemeral: ['alpine'] });

  it('walks a Pod: init, regular, then ephemeral containers', () => {
    expect(extractImages({ spec }, 'Pod')).toEqual([
      { path: '/spec/initContainers/0/image', image: 'busybox:1.36', field: 'initContainers', container: 'init0', pinned: false },
      { path: '/spec/containers/0/image', image: 'nginx:1.25', field: 'containers', container: 'c0', pinned: false },
      { path: '/spec/containers/1/image', image: `ghcr.io/org/app@${DIGEST}`, field: 'containers', container: 'c1', pinned: true },
      { path: '/spec/ephemeralContainers/0/image', image: 'alpine', field: 'ephemeralContainers', container: 'debug0', pinned: false },
    ]);
  });

  it.each([
    [{ group: 'apps', version: 'v1', kind: 'Deployment' }, { spec: { template: { spec } } }, '/spec/template/spec'],
    [{ group: 'apps', version: 'v1', kind: 'ReplicaSet' }, { spec: { template: { spec } } }, '/spec/template/spec'],
    [{ group: 'apps', version: 'v1', kind: 'StatefulSet' }, { spec: { template: { spec } } }, '/spec/template/spec'],
    [{ group: 'apps', version: 'v1', kind: 'DaemonSet' }, { spec: { template: { spec } } }, '/spec/template/spec'],
    [{ group: 'batch', version: 'v1', kind: 'Job' }, { spec: { template: { spec } } }, '/spec/template/spec'],
    [{ group: 'batch', version: 'v1', kind: 'CronJob' }, { spec: { jobTemplate: { spec: { template: { spec } } } } }, '/spec/jobTemplate/spec/template/spec'],
    [{ group: '', version: 'v1', kind: 'ReplicationController' }, { spec: { template: { spec } } }, '/spec/template/spec'],
    [{ group: '', version: 'v1', kind: 'PodTemplate' }, { template: { spec } }, '/template/spec'],
  ])('walks the pod template of %j', (kind, object, prefix) => {
    const images = extractImages(object, kind);
    expect(images.map((i) => i.path)).toEqual([
      `${prefix}/initContainers/0/image`,
      `${prefix}/containers/0/image`,
      `${prefix}/containers/1/image`,
      `${prefix}/ephemeralContainers/0/image`,
    ]);
    expect(images.map((i) => i.image)).toEqual(['busybox:1.36', 'nginx:1.25', `ghcr.io/org/app@${DIGEST}`, 'alpine']);
  });

  it('lists a repeated image once per container', () => {
    const images = extractImages({ spec: podSpec({ init: ['nginx'], main: ['nginx', 'nginx'] }) }, 'Pod');
    expect(images.map((i) => [i.path, i.image])).toEqual([
      ['/spec/initContainers/0/image', 'nginx'],
      ['/spec/containers/0/image', 'nginx'],
      ['/spec/containers/1/image', 'nginx'],
    ]);
  });

  it('has nothing for kinds it does not examine, or built-in names in other groups', () => {
    expect(extractImages({ spec }, 'Service')).toEqual([]);
    expect(extractImages({ spec: { template: { spec } } }, { group: 'batch.volcano.sh', version: 'v1alpha1', kind: 'Job' })).toEqual([]);
    expect(extractImages({ spec }, { group: 'apps', version: 'v1', kind: 'Pod' })).toEqual([]);
    expect(workloadKind('toString')).toBeUndefined();
    expect(workloadKind({ group: 'apps', version: 'v1', kind: 'Deployment' })).toBe('Deployment');
  });

  it('has nothing when the pod spec or container lists are absent', () => {
    expect(extractImages({}, 'Pod')).toEqual([]);
    expect(extractImages({ spec: { template: null } }, 'Deployment')).toEqual([]);
    expect(extractImages(null, 'Pod')).toEqual([]);
  });

  it('reports a container without image as an empty image (which then fails to parse: deny)', () => {
    expect(extractImages({ spec: { containers: [{ name: 'x' }] } }, 'Pod')).toEqual([
      { path: '/spec/containers/0/image', image: '', field: 'containers', container: 'x', pinned: false },
    ]);
  });

  it.each([
    [{ spec: [] }, '/spec'],
    [{ spec: { containers: {} } }, '/spec/containers'],
    [{ spec: { containers: ['nginx'] } }, '/spec/containers/0'],
    [{ spec: { containers: [{ image: 42 }] } }, '/spec/containers/0/image'],
    ['pod', ''],
  ])('throws on malformed object %j', (object, path) => {
    expect(() => extractImages(object, 'Pod')).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: { admissionReview: true, path } }));
  });

  it('image volumes (volumes[].image.reference, Kubernetes image volumes) are verified like containers (issue 9.6)', () => {
    const withVolumes = {
      ...podSpec({ main: ['nginx:1.25'] }),
      volumes: [
        { name: 'config', configMap: { name: 'c' } },
        { name: 'models', image: { reference: 'ghcr.io/org/models:v3', pullPolicy: 'IfNotPresent' } },
        { name: 'empty', image: {} },
      ],
    };
    expect(extractImages({ spec: withVolumes }, 'Pod')).toEqual([
      { path: '/spec/containers/0/image', image: 'nginx:1.25', field: 'containers', container: 'c0', pinned: false },
      { path: '/spec/volumes/1/image/reference', image: 'ghcr.io/org/models:v3', field: 'volumes', container: 'models', pinned: false },
      { path: '/spec/volumes/2/image/reference', image: '', field: 'volumes', container: 'empty', pinned: false },
    ]);
    expect(extractImages({ spec: { template: { spec: withVolumes } } }, { group: 'apps', version: 'v1', kind: 'Deployment' }).map((i) => i.path)).toContain(
      '/spec/template/spec/volumes/1/image/reference',
    );
    // Pinned by /mutate like a container image.
    const patch = buildImagePatch([{ path: '/spec/volumes/1/image/reference', image: 'ghcr.io/org/models:v3', newImage: `ghcr.io/org/models:v3@${DIGEST}` }]);
    expect(
      (applyPatch({ spec: withVolumes }, patch) as { spec: { volumes: Array<{ image?: { reference: string } }> } }).spec.volumes[1]!.image!.reference,
    ).toBe(`ghcr.io/org/models:v3@${DIGEST}`);
  });

  it.each([
    [{ spec: { containers: [], volumes: {} } }, '/spec/volumes'],
    [{ spec: { containers: [], volumes: ['x'] } }, '/spec/volumes/0'],
    [{ spec: { containers: [], volumes: [{ name: 'v', image: 'ghcr.io/x' }] } }, '/spec/volumes/0/image'],
    [{ spec: { containers: [], volumes: [{ name: 'v', image: { reference: 7 } }] } }, '/spec/volumes/0/image/reference'],
  ])('throws on a malformed volume %j', (object, path) => {
    expect(() => extractImages(object, 'Pod')).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: { admissionReview: true, path } }));
  });

  it('escapes JSON pointer tokens (RFC 6901)', () => {
    expect(jsonPointer(['a/b', 'c~d', 0])).toBe('/a~1b/c~0d/0');
  });
});

describe('changedImages', () => {
  it('lists only images that are new or different at their path', () => {
    const before = { spec: podSpec({ main: ['nginx:1', 'redis:7'] }) };
    const after = { spec: podSpec({ main: ['nginx:1', 'redis:8'], ephemeral: ['busybox'] }) };
    expect(changedImages(after, before, 'Pod').map((i) => [i.path, i.image])).toEqual([
      ['/spec/containers/1/image', 'redis:8'],
      ['/spec/ephemeralContainers/0/image', 'busybox'],
    ]);
    expect(changedImages(after, null, 'Pod')).toHaveLength(3);
    expect(changedImages(before, before, 'Pod')).toEqual([]);
  });
});

/** A minimal RFC 6902 "replace" applier, to check patches land where they claim. */
function applyPatch(document: unknown, patch: readonly JsonPatchReplace[]): unknown {
  const copy = JSON.parse(JSON.stringify(document)) as unknown;
  for (const op of patch) {
    const tokens = op.path
      .slice(1)
      .split('/')
      .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
    let node = copy as Record<string, unknown>;
    for (const token of tokens.slice(0, -1)) node = node[token] as Record<string, unknown>;
    const last = tokens[tokens.length - 1]!;
    if (!(last in node)) throw new Error(`replace of a missing member: ${op.path}`);
    node[last] = op.value;
  }
  return copy;
}

describe('buildImagePatch', () => {
  it('replaces images, skipping unchanged ones and writing a repeated path once', () => {
    expect(
      buildImagePatch([
        { path: '/spec/containers/0/image', image: 'nginx', newImage: `nginx@${DIGEST}` },
        { path: '/spec/containers/1/image', image: `x@${DIGEST}`, newImage: `x@${DIGEST}` },
        { path: '/spec/containers/0/image', newImage: `nginx@${DIGEST}` },
        { path: '/spec/initContainers/0/image', newImage: `nginx@${DIGEST}` },
      ]),
    ).toEqual([
      { op: 'replace', path: '/spec/containers/0/image', value: `nginx@${DIGEST}` },
      { op: 'replace', path: '/spec/initContainers/0/image', value: `nginx@${DIGEST}` },
    ]);
    expect(buildImagePatch([])).toEqual([]);
  });

  it('refuses conflicting values, bad pointers and empty images', () => {
    expect(() =>
      buildImagePatch([
        { path: '/spec/containers/0/image', newImage: 'a@' + DIGEST },
        { path: '/spec/containers/0/image', newImage: 'b@' + DIGEST },
      ]),
    ).toThrow(/conflicting replacements/);
    expect(() => buildImagePatch([{ path: 'spec/containers/0/image', newImage: 'a' }])).toThrow(/not a JSON pointer/);
    expect(() => buildImagePatch([{ path: '/a~2b', newImage: 'a' }])).toThrow(/not a JSON pointer/);
    expect(() => buildImagePatch([{ path: '/spec/containers/0/image', newImage: '' }])).toThrow(/empty replacement/);
  });

  it('pins every unpinned image of any workload, and only those (property)', () => {
    const image = fc.constantFrom('nginx', 'nginx:1.25', 'ghcr.io/a/b:1', `ghcr.io/a/b@${DIGEST}`, 'registry.k8s.io/pause:3.9');
    const images = fc.array(image, { maxLength: 4 });
    const kinds = fc.constantFrom<[string, (s: unknown) => unknown]>(
      ['Pod', (s) => ({ spec: s })],
      ['Deployment', (s) => ({ spec: { template: { spec: s } } })],
      ['CronJob', (s) => ({ spec: { jobTemplate: { spec: { template: { spec: s } } } } })],
    );
    fc.assert(
      fc.property(kinds, images, fc.array(image, { minLength: 1, maxLength: 4 }), images, ([kind, wrap], init, main, ephemeral) => {
        const object = wrap(podSpec({ init, main, ephemeral }));
        const found = extractImages(object, kind);
        expect(found).toHaveLength(init.length + main.length + ephemeral.length);
        const pin = (ref: string) => (ref.includes('@') ? ref : `${ref}@${DIGEST}`);
        const patch = buildImagePatch(found.map((f) => ({ path: f.path, image: f.image, newImage: pin(f.image) })));
        expect(patch).toHaveLength(found.filter((f) => !f.pinned).length);
        const patched = extractImages(applyPatch(object, patch), kind);
        expect(patched.map((p) => p.image)).toEqual(found.map((f) => pin(f.image)));
        expect(patched.every((p) => p.pinned)).toBe(true);
      }),
    );
  });
});

describe('admissionResponse', () => {
  const uid = 'abc-123';

  it('allows with a base64 JSONPatch', () => {
    const patch = buildImagePatch([{ path: '/spec/containers/0/image', newImage: `nginx@${DIGEST}` }]);
    const out = admissionResponse({ uid, allowed: true, patch });
    expect(out).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid, allowed: true, patchType: 'JSONPatch', patch: expect.any(String) },
    });
    expect(JSON.parse(Buffer.from(out.response.patch!, 'base64').toString('utf8'))).toEqual(patch);
  });

  it('leaves an empty patch out', () => {
    expect(admissionResponse({ uid, allowed: true, patch: [] }).response).toEqual({ uid, allowed: true });
  });

  it('denies with a status, 403 by default', () => {
    expect(admissionResponse({ uid, allowed: false, message: 'no signature' }).response).toEqual({
      uid,
      allowed: false,
      status: { code: 403, message: 'no signature' },
    });
    expect(admissionResponse({ uid, allowed: false, code: 500, message: 'registry down' }).response.status).toEqual({ code: 500, message: 'registry down' });
  });

  it('carries warnings (warn mode) as single printable lines, deduplicated', () => {
    const out = admissionResponse({ uid, allowed: true, warnings: ['policy p failed:\nno signature', 'policy p failed:\nno signature', '\t'] });
    expect(out.response.warnings).toEqual(['policy p failed: no signature']);
  });

  it('refuses a patch on a denial and a missing uid', () => {
    expect(() => admissionResponse({ uid, allowed: false, patch: [{ op: 'replace', path: '/a', value: 'b' }] })).toThrow(/cannot carry a patch/);
    expect(() => admissionResponse({ uid: '', allowed: true })).toThrow(/uid/);
  });
});

describe('skipReason', () => {
  const deployment = (image: string, replicas: number, extra: Record<string, unknown> = {}) => ({
    metadata: { name: 'd', ...extra },
    spec: { replicas, template: { spec: podSpec({ main: [image] }) } },
  });
  const request = (over: Partial<AdmissionRequest>): AdmissionRequest => ({
    uid: 'u',
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    operation: 'UPDATE',
    object: deployment('nginx:1', 3),
    oldObject: deployment('nginx:1', 3),
    dryRun: false,
    ...over,
  });

  it('verifies creates and updates', () => {
    expect(skipReason(request({ operation: 'CREATE', oldObject: null }))).toBeUndefined();
    expect(skipReason(request({}))).toBeUndefined(); // an unchanged update is verified again, as upstream
  });

  it('skips deletes, status updates and kinds without a pod spec', () => {
    expect(skipReason(request({ operation: 'DELETE', object: null }))).toMatch(/DELETE/);
    expect(skipReason(request({ subResource: 'status' }))).toMatch(/status/);
    expect(skipReason(request({ kind: { group: '', version: 'v1', kind: 'ConfigMap' } }))).toMatch(/ConfigMap/);
  });

  it('skips a scale-down only when no image changes', () => {
    expect(skipReason(request({ object: deployment('nginx:1', 1) }))).toMatch(/scale-down/);
    expect(skipReason(request({ object: deployment('evil:1', 1) }))).toBeUndefined();
    expect(skipReason(request({ object: deployment('nginx:1', 5) }))).toBeUndefined();
  });

  it('skips an object being deleted only when no image changes', () => {
    const stamp = { deletionTimestamp: '2024-01-01T00:00:00Z' };
    expect(skipReason(request({ object: deployment('nginx:1', 3, stamp) }))).toMatch(/being deleted/);
    expect(skipReason(request({ object: deployment('evil:1', 3, stamp) }))).toBeUndefined();
  });

  it('verifies ephemeral containers added through the subresource', () => {
    const pod = { spec: podSpec({ main: ['nginx'] }) };
    const withDebug = { spec: podSpec({ main: ['nginx'], ephemeral: ['busybox'] }) };
    expect(
      skipReason(
        request({
          kind: { group: '', version: 'v1', kind: 'Pod' },
          subResource: 'ephemeralcontainers',
          object: withDebug,
          oldObject: pod,
        }),
      ),
    ).toBeUndefined();
  });
});
