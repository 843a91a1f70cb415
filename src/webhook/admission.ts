/**
 * Kubernetes admission (admission.k8s.io/v1 AdmissionReview) without I/O: read the
 * request, find the container images of a workload, build the JSONPatch that pins them,
 * and write the response.
 *
 * Images are found where policy-controller looks (pkg/webhook/validator.go): the pod spec
 * of a Pod (`spec`), of the pod template of a Deployment, ReplicaSet, StatefulSet,
 * DaemonSet, Job and ReplicationController (`spec.template.spec`), of a CronJob
 * (`spec.jobTemplate.spec.template.spec`) and of a PodTemplate (`template.spec`); in
 * each, `initContainers`, `containers` and `ephemeralContainers`, in that order, then
 * image volumes (`volumes[].image.reference`), which policy-controller does not look at.
 */
import { ImgverifyError, parseReference } from '../index';
import { isRecord, jsonKind, own, ShapeChecker, type JsonObject } from '../util/shape';

const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** HTTP paths the webhook server serves; deploy/ manifests point at these (checked by a test). */
export const WEBHOOK_PATHS = Object.freeze({
  /** ValidatingWebhookConfiguration: verify the final images. */
  validate: '/validate',
  /** MutatingWebhookConfiguration: pin tags to digests. */
  mutate: '/mutate',
  /** Liveness: the process answers. */
  healthz: '/healthz',
  /** Readiness: policies loaded and the trust root available. */
  readyz: '/readyz',
} as const);

type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
const OPERATIONS: readonly AdmissionOperation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** A Kubernetes object's kind, as an AdmissionReview names it (`{group: 'apps', version: 'v1', kind: 'Deployment'}`). */
export interface GroupVersionKind {
  /** "" for the core group (Pod, ReplicationController, PodTemplate). */
  readonly group: string;
  /** `v1`, `v1beta1`. */
  readonly version: string;
  /** `Pod`, `Deployment`. */
  readonly kind: string;
}

export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

interface AdmissionUserInfo {
  readonly username?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
}

export interface AdmissionRequest {
  /** Echoed in the response; identifies this admission call. */
  readonly uid: string;
  /** The kind of `object` (after conversion to the webhook's version). */
  readonly kind: GroupVersionKind;
  readonly resource: GroupVersionResource;
  /** e.g. `status`, `ephemeralcontainers`; absent for the main resource. */
  readonly subResource?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly operation: AdmissionOperation;
  readonly userInfo?: AdmissionUserInfo;
  /** The new object: a JSON object for CREATE and UPDATE, null for DELETE. */
  readonly object: Record<string, unknown> | null;
  /** The existing object: a JSON object for UPDATE and DELETE, null for CREATE. */
  readonly oldObject: Record<string, unknown> | null;
  readonly dryRun: boolean;
}

// --- Parsing the review ----------------------------------------------------------------

const MAX_FIELD_LENGTH = 1024;

function malformed(path: string, why: string): ImgverifyError {
  return new ImgverifyError('INVALID_OPTIONS', `malformed AdmissionReview: ${path}: ${why}`, {
    details: { admissionReview: true, path },
  });
}

type Json = JsonObject;

/** The checks of a JSON document whose first problem ends the parse, thrown as `error(path, why)`. */
class JsonShape extends ShapeChecker<never> {
  constructor(private readonly error: (path: string, why: string) => ImgverifyError) {
    super();
  }

  protected problem(path: string, message: string): never {
    throw this.error(path, message);
  }

  protected describe(value: unknown): string {
    return jsonKind(value);
  }

  /** A string field, bounded; "" only with `allowEmpty`. */
  requiredString(obj: Json, key: string, path: string, allowEmpty = false): string {
    const value = this.text(own(obj, key), `${path}.${key}`);
    if (!allowEmpty && value.length === 0) this.problem(`${path}.${key}`, 'empty');
    if (value.length > MAX_FIELD_LENGTH) this.problem(`${path}.${key}`, `longer than ${MAX_FIELD_LENGTH} characters`);
    return value;
  }

  /** A string field; absent, null and "" are undefined. */
  optionalString(obj: Json, key: string, path: string): string | undefined {
    const value = own(obj, key);
    if (value === undefined || value === null || value === '') return undefined;
    return this.requiredString(obj, key, path);
  }

  /** An object field; absent and null are null. */
  objectOrNull(obj: Json, key: string, path: string): Json | null {
    const value = own(obj, key);
    if (value === undefined || value === null) return null;
    return this.object(value, `${path}.${key}`);
  }
}

/** The AdmissionReview's fields, by dotted path. */
const review = new JsonShape(malformed);

/**
 * Reads and checks an AdmissionReview request body (already JSON-decoded). Throws
 * ImgverifyError(INVALID_OPTIONS, details.admissionReview) for anything that is not a v1
 * AdmissionReview request with the fields a decision needs; the server answers HTTP 400.
 */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  const doc = review.object(body, '(body)');
  const apiVersion = own(doc, 'apiVersion');
  if (apiVersion !== ADMISSION_API_VERSION) {
    throw malformed(
      'apiVersion',
      `expected ${ADMISSION_API_VERSION}, got ${JSON.stringify(typeof apiVersion === 'string' ? apiVersion.slice(0, 64) : jsonKind(apiVersion))}`,
    );
  }
  if (own(doc, 'kind') !== 'AdmissionReview') throw malformed('kind', 'expected AdmissionReview');
  const request = review.object(own(doc, 'request'), 'request');

  const uid = review.requiredString(request, 'uid', 'request');

  const kindValue = review.object(own(request, 'kind'), 'request.kind');
  const kind: GroupVersionKind = Object.freeze({
    group: review.requiredString(kindValue, 'group', 'request.kind', true),
    version: review.requiredString(kindValue, 'version', 'request.kind'),
    kind: review.requiredString(kindValue, 'kind', 'request.kind'),
  });

  const resourceValue = review.object(own(request, 'resource'), 'request.resource');
  const resource: GroupVersionResource = Object.freeze({
    group: review.requiredString(resourceValue, 'group', 'request.resource', true),
    version: review.requiredString(resourceValue, 'version', 'request.resource'),
    resource: review.requiredString(resourceValue, 'resource', 'request.resource'),
  });

  const operation = review.requiredString(request, 'operation', 'request');
  if (!OPERATIONS.includes(operation as AdmissionOperation)) {
    throw malformed('request.operation', `expected one of ${OPERATIONS.join(', ')}, got ${JSON.stringify(operation)}`);
  }

  const object = review.objectOrNull(request, 'object', 'request');
  const oldObject = review.objectOrNull(request, 'oldObject', 'request');
  if ((operation === 'CREATE' || operation === 'UPDATE') && object === null) {
    throw malformed('request.object', `required for ${operation}`);
  }
  if (operation === 'UPDATE' && oldObject === null) throw malformed('request.oldObject', 'required for UPDATE');

  let userInfo: AdmissionUserInfo | undefined;
  const userValue = own(request, 'userInfo');
  if (userValue !== undefined && userValue !== null) {
    const user = review.object(userValue, 'request.userInfo');
    const groups = own(user, 'groups');
    if (groups !== undefined && groups !== null && !(Array.isArray(groups) && groups.every((g) => typeof g === 'string'))) {
      throw malformed('request.userInfo.groups', 'expected a list of strings');
    }
    const username = review.optionalString(user, 'username', 'request.userInfo');
    const userUid = review.optionalString(user, 'uid', 'request.userInfo');
    userInfo = Object.freeze({
      ...(username !== undefined ? { username } : {}),
      ...(userUid !== undefined ? { uid: userUid } : {}),
      ...(Array.isArray(groups) ? { groups: Object.freeze([...groups]) } : {}),
    });
  }

  const dryRun = own(request, 'dryRun');
  if (dryRun !== undefined && dryRun !== null && typeof dryRun !== 'boolean') {
    throw malformed('request.dryRun', `expected a boolean, got ${jsonKind(dryRun)}`);
  }

  const subResource = review.optionalString(request, 'subResource', 'request');
  const name = review.optionalString(request, 'name', 'request');
  const namespace = review.optionalString(request, 'namespace', 'request');
  return Object.freeze({
    uid,
    kind,
    resource,
    ...(subResource !== undefined ? { subResource } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    operation: operation as AdmissionOperation,
    ...(userInfo !== undefined ? { userInfo } : {}),
    object,
    oldObject,
    dryRun: dryRun === true,
  });
}

// --- Finding images --------------------------------------------------------------------

export type WorkloadKind = 'Pod' | 'PodTemplate' | 'ReplicationController' | 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

/** Where each kind keeps its pod spec, its API group and its resource (the plural of its API paths). */
const POD_SPEC_PATHS: Readonly<Record<WorkloadKind, { readonly group: string; readonly resource: string; readonly path: readonly string[] }>> = Object.freeze({
  Pod: { group: '', resource: 'pods', path: ['spec'] },
  PodTemplate: { group: '', resource: 'podtemplates', path: ['template', 'spec'] },
  ReplicationController: { group: '', resource: 'replicationcontrollers', path: ['spec', 'template', 'spec'] },
  Deployment: { group: 'apps', resource: 'deployments', path: ['spec', 'template', 'spec'] },
  ReplicaSet: { group: 'apps', resource: 'replicasets', path: ['spec', 'template', 'spec'] },
  StatefulSet: { group: 'apps', resource: 'statefulsets', path: ['spec', 'template', 'spec'] },
  DaemonSet: { group: 'apps', resource: 'daemonsets', path: ['spec', 'template', 'spec'] },
  Job: { group: 'batch', resource: 'jobs', path: ['spec', 'template', 'spec'] },
  CronJob: { group: 'batch', resource: 'cronjobs', path: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] },
});

/** Kinds that can be scaled down (policy-controller's PodScalable). */
const SCALABLE_KINDS: readonly WorkloadKind[] = ['Deployment', 'ReplicaSet', 'StatefulSet', 'ReplicationController'];

/** Where an image is used: a container list, or `volumes` (Kubernetes image volumes). */
export type ContainerField = 'initContainers' | 'containers' | 'ephemeralContainers' | 'volumes';
const CONTAINER_FIELDS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

export interface ContainerImage {
  /**
   * RFC 6901 JSON pointer to the image string, e.g. `/spec/template/spec/containers/0/image`,
   * or `/spec/volumes/0/image/reference` for an image volume.
   */
  readonly path: string;
  /** The image as written (may be "" when the object has none; it then fails reference parsing). */
  readonly image: string;
  readonly field: ContainerField;
  /** Container name, or the volume's name for an image volume ("" when absent). */
  readonly container: string;
  /** Whether the reference carries a digest (`@sha256:...`): nothing to resolve or patch. */
  readonly pinned: boolean;
}

/**
 * The workload kind of a request kind, or undefined for kinds we do not examine. A bare
 * kind name is taken as the built-in kind of that name; with a group, the group must match
 * too (a custom resource named `Job` in another group is not a batch Job).
 */
export function workloadKind(kind: GroupVersionKind | string): WorkloadKind | undefined {
  const name = typeof kind === 'string' ? kind : kind.kind;
  if (!Object.prototype.hasOwnProperty.call(POD_SPEC_PATHS, name)) return undefined;
  const entry = POD_SPEC_PATHS[name as WorkloadKind];
  if (typeof kind !== 'string' && kind.group !== entry.group) return undefined;
  return name as WorkloadKind;
}

/**
 * The resource the API server admits an object of a workload kind as (what an AdmissionReview's
 * `request.resource` says, and `spec.match` reads): `{apps, v1, deployments}` for an apps/v1
 * Deployment. Undefined for a kind whose images are not examined.
 */
export function workloadResource(kind: GroupVersionKind): GroupVersionResource | undefined {
  const workload = workloadKind(kind);
  return workload === undefined ? undefined : { group: kind.group, version: kind.version, resource: POD_SPEC_PATHS[workload].resource };
}

/** RFC 6901: "~" is written "~0" and "/" is written "~1" inside a reference token. */
export function jsonPointer(tokens: readonly (string | number)[]): string {
  return tokens.map((t) => '/' + String(t).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

function badObject(pointer: string, why: string): ImgverifyError {
  return new ImgverifyError('INVALID_OPTIONS', `malformed object at ${pointer || '/'}: ${why}`, {
    details: { admissionReview: true, path: pointer },
  });
}

/** The workload object's fields, by JSON pointer. */
const workloadFields = new JsonShape(badObject);

function isPinned(image: string): boolean {
  try {
    return parseReference(image).digest !== undefined;
  } catch {
    return false;
  }
}

/**
 * The pod spec of a workload object (a Pod's `spec`, a Deployment's `spec.template.spec`, a
 * CronJob's `spec.jobTemplate.spec.template.spec`...) and its path, or undefined for a kind we
 * do not examine or an object without one. A field of the wrong type on the way throws
 * ImgverifyError(INVALID_OPTIONS).
 */
export function podSpecOf(object: unknown, kind: GroupVersionKind | string): { podSpec: Record<string, unknown>; specPath: readonly string[] } | undefined {
  const workload = workloadKind(kind);
  if (workload === undefined || object === null || object === undefined) return undefined;
  let podSpec = workloadFields.object(object, '');
  const specPath = POD_SPEC_PATHS[workload].path;
  for (let i = 0; i < specPath.length; i++) {
    const next = own(podSpec, specPath[i]!);
    if (next === undefined || next === null) return undefined;
    podSpec = workloadFields.object(next, jsonPointer(specPath.slice(0, i + 1)));
  }
  return { podSpec, specPath };
}

/**
 * The container images of a workload object, each with the JSON pointer of its `image`
 * field, in policy-controller's order (init, regular, ephemeral containers). An object of
 * a kind we do not examine has none; a missing pod spec or container list has none; a
 * field of the wrong type throws ImgverifyError(INVALID_OPTIONS) (deny: fail closed).
 * The same image used by several containers appears once per container.
 */
export function extractImages(object: unknown, kind: GroupVersionKind | string): ContainerImage[] {
  const found = podSpecOf(object, kind);
  if (found === undefined) return [];
  const { podSpec, specPath } = found;

  const images: ContainerImage[] = [];
  for (const field of CONTAINER_FIELDS) {
    const list = own(podSpec, field);
    if (list === undefined || list === null) continue;
    const listPath = [...specPath, field];
    workloadFields.array(list, jsonPointer(listPath)).forEach((item, index) => {
      const container = workloadFields.object(item, jsonPointer([...listPath, index]));
      const image = workloadFields.text(own(container, 'image') ?? '', jsonPointer([...listPath, index, 'image']));
      const name = own(container, 'name');
      images.push(
        Object.freeze({
          path: jsonPointer([...listPath, index, 'image']),
          image,
          field,
          container: typeof name === 'string' ? name : '',
          pinned: isPinned(image),
        }),
      );
    });
  }
  // Kubernetes image volumes (`volumes[].image.reference`, KEP-4639): an OCI image or artifact
  // the kubelet pulls and mounts. It runs nothing, but it is content from a registry the
  // workload depends on: verified like a container image.
  const volumes = own(podSpec, 'volumes');
  if (volumes !== undefined && volumes !== null) {
    const listPath = [...specPath, 'volumes'];
    workloadFields.array(volumes, jsonPointer(listPath)).forEach((item, index) => {
      const volume = workloadFields.object(item, jsonPointer([...listPath, index]));
      const value = own(volume, 'image');
      if (value === undefined || value === null) return;
      const source = workloadFields.object(value, jsonPointer([...listPath, index, 'image']));
      const image = workloadFields.text(own(source, 'reference') ?? '', jsonPointer([...listPath, index, 'image', 'reference']));
      const name = own(volume, 'name');
      images.push(
        Object.freeze({
          path: jsonPointer([...listPath, index, 'image', 'reference']),
          image,
          field: 'volumes' as const,
          container: typeof name === 'string' ? name : '',
          pinned: isPinned(image),
        }),
      );
    });
  }
  return images;
}

/**
 * The images of `object` that are new or different from `oldObject` at the same path: what
 * a mutating webhook should pin on UPDATE. Rewriting an unchanged image of a running Pod
 * (even tag -> same-content digest) changes its spec and restarts the container.
 */
export function changedImages(object: unknown, oldObject: unknown, kind: GroupVersionKind | string): ContainerImage[] {
  const before = new Map(extractImages(oldObject, kind).map((image) => [image.path, image.image]));
  return extractImages(object, kind).filter((image) => before.get(image.path) !== image.image);
}

function sameImages(a: readonly ContainerImage[], b: readonly ContainerImage[]): boolean {
  return a.length === b.length && a.every((image, i) => image.path === b[i]!.path && image.image === b[i]!.image);
}

function replicas(object: Json | null): number | undefined {
  const spec = object ? own(object, 'spec') : undefined;
  const value = isRecord(spec) ? own(spec, 'replicas') : undefined;
  return typeof value === 'number' ? value : undefined;
}

function deleting(object: Json | null): boolean {
  const metadata = object ? own(object, 'metadata') : undefined;
  const stamp = isRecord(metadata) ? own(metadata, 'deletionTimestamp') : undefined;
  return stamp !== undefined && stamp !== null;
}

/**
 * Why a request needs no image verification, or undefined when it does. Like
 * policy-controller: deletes, status updates, objects being deleted and scale-downs are
 * let through. Unlike it, an update that changes any image is always verified, even if
 * it also scales down or the object is being deleted (policy-controller skips a
 * scale-down whatever else changes, which would let a new image in with it).
 */
export function skipReason(request: AdmissionRequest): string | undefined {
  if (request.operation === 'DELETE' || request.operation === 'CONNECT') return `${request.operation} requests are not verified`;
  const workload = workloadKind(request.kind);
  if (workload === undefined) return `kind ${request.kind.group ? `${request.kind.group}/` : ''}${request.kind.kind} has no pod spec`;
  if (request.subResource === 'status') return 'status updates do not change images';
  if (request.operation !== 'UPDATE') return undefined;

  if (!sameImages(extractImages(request.object, request.kind), extractImages(request.oldObject, request.kind))) return undefined;
  if (deleting(request.object)) return 'the object is being deleted and its images are unchanged';
  const now = replicas(request.object);
  const before = replicas(request.oldObject);
  if (SCALABLE_KINDS.includes(workload) && now !== undefined && before !== undefined && now < before) {
    return 'scale-down with unchanged images';
  }
  return undefined;
}

// --- Patching --------------------------------------------------------------------------

export interface JsonPatchReplace {
  readonly op: 'replace';
  readonly path: string;
  readonly value: string;
}

export interface ImageReplacement {
  /** JSON pointer of the image field (from {@link extractImages}). */
  readonly path: string;
  /** The image to write, e.g. `ghcr.io/org/app:1.2@sha256:...`. */
  readonly newImage: string;
  /** The image currently there: when equal to `newImage` no operation is emitted. */
  readonly image?: string;
}

/**
 * RFC 6902 JSONPatch replacing image fields. Replacements that change nothing are dropped,
 * the same path given twice with the same value is written once, and the same path with
 * two values throws ImgverifyError(INVALID_OPTIONS).
 */
export function buildImagePatch(images: readonly ImageReplacement[]): JsonPatchReplace[] {
  const byPath = new Map<string, JsonPatchReplace>();
  for (const { path, newImage, image } of images) {
    if (typeof path !== 'string' || !/^(?:\/(?:[^~/]|~[01])*)+$/.test(path)) {
      throw new ImgverifyError('INVALID_OPTIONS', `not a JSON pointer: ${JSON.stringify(path)}`);
    }
    if (typeof newImage !== 'string' || newImage.length === 0) {
      throw new ImgverifyError('INVALID_OPTIONS', `empty replacement image for ${path}`);
    }
    if (image !== undefined && image === newImage) continue;
    const existing = byPath.get(path);
    if (existing !== undefined) {
      if (existing.value !== newImage) {
        throw new ImgverifyError('INVALID_OPTIONS', `conflicting replacements for ${path}: ${existing.value} and ${newImage}`);
      }
      continue;
    }
    byPath.set(path, Object.freeze({ op: 'replace', path, value: newImage }));
  }
  return [...byPath.values()];
}

// --- Responding ------------------------------------------------------------------------

export interface AdmissionResponseOptions {
  readonly uid: string;
  readonly allowed: boolean;
  /** Why the request was denied (shown to the user by kubectl). */
  readonly message?: string;
  /** HTTP-style status code of a denial; default 403. */
  readonly code?: number;
  /** Warnings shown by kubectl (warn-mode policy failures); admitted or not. */
  readonly warnings?: readonly string[];
  /** Only with allowed: true; an empty patch is left out. */
  readonly patch?: readonly JsonPatchReplace[];
}

interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly message: string };
  readonly warnings?: readonly string[];
  readonly patchType?: 'JSONPatch';
  /** Base64 of the JSON-encoded patch. */
  readonly patch?: string;
}

export interface AdmissionReviewResponse {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse;
}

/** Warnings travel in HTTP headers: one line of printable text each. */
function cleanWarning(warning: string): string {
  // eslint-disable-next-line no-control-regex -- replacing control characters is the point
  return warning.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
}

/** The AdmissionReview to send back. Throws INVALID_OPTIONS for a patch on a denial. */
export function admissionResponse(options: AdmissionResponseOptions): AdmissionReviewResponse {
  const { uid, allowed, message, code, warnings, patch } = options;
  if (typeof uid !== 'string' || uid.length === 0) throw new ImgverifyError('INVALID_OPTIONS', 'admission response needs the request uid');
  if (!allowed && patch !== undefined && patch.length > 0) {
    throw new ImgverifyError('INVALID_OPTIONS', 'a denied admission response cannot carry a patch');
  }
  const cleanWarnings = [...new Set((warnings ?? []).map(cleanWarning).filter((w) => w.length > 0))];
  const status = !allowed
    ? { code: code ?? 403, message: message ?? 'denied by imgverify' }
    : message !== undefined
      ? { code: code ?? 200, message }
      : undefined;
  const response: AdmissionResponse = {
    uid,
    allowed,
    ...(status ? { status } : {}),
    ...(cleanWarnings.length > 0 ? { warnings: cleanWarnings } : {}),
    ...(allowed && patch !== undefined && patch.length > 0
      ? { patchType: 'JSONPatch' as const, patch: Buffer.from(JSON.stringify(patch), 'utf8').toString('base64') }
      : {}),
  };
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
