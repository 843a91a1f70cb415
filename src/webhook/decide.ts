/**
 * One admission decision: the images of the request's object, evaluated under the policies
 * (./workload, the entry manifests and audits share), answered as an AdmissionReview (with a
 * JSONPatch pinning digests when mutating).
 */
import {
  admissionResponse,
  buildImagePatch,
  changedImages,
  skipReason,
  type AdmissionRequest,
  type AdmissionReviewResponse,
  type ContainerImage,
} from './admission';
import type { PolicyEvaluator } from './evaluate';
import type { PullSecretCredentials } from './pull-secrets';
import { errorMessage } from '../util/describe';
import { evaluateWorkload } from './workload';
import { isPolicyObjectKind } from './policy-objects';

/**
 * Apply-time validation of a ClusterImagePolicy, ImagePolicy or TrustRoot: why it would not load
 * (field paths first), empty when it would (a worker asks its primary, hence the promise).
 */
export type PolicyObjectValidator = (object: unknown) => readonly string[] | Promise<readonly string[]>;

/**
 * A ClusterImagePolicy, ImagePolicy or TrustRoot created or updated (the webhook configuration sends them to
 * /validate): denied with the loader's messages when it would not load. Undefined for other
 * requests. Its status subresource and DELETE are not checked (they change no spec).
 */
async function policyObjectDecision(
  request: AdmissionRequest,
  mutate: boolean,
  validate: PolicyObjectValidator | undefined,
): Promise<AdmissionDecision | undefined> {
  if (!isPolicyObjectKind(request.kind.group, request.kind.kind)) return undefined;
  const uid = request.uid;
  const allowed = { review: admissionResponse({ uid, allowed: true }), images: 0, denied: false };
  if (mutate || !validate || request.subResource !== undefined || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return allowed;
  const messages = await validate(request.object);
  if (messages.length === 0) return allowed;
  const name = request.name ?? '';
  const message = `imgverify: ${request.kind.kind} ${JSON.stringify(name)} is invalid: ${messages.join('; ')}`;
  return { review: admissionResponse({ uid, allowed: false, message }), images: 0, denied: true };
}

export interface AdmissionDecision {
  readonly review: AdmissionReviewResponse;
  /** Images evaluated. */
  readonly images: number;
  readonly denied: boolean;
}

/**
 * Validation (`mutate` false) checks every image of the object, as a policy added since
 * creation applies; mutation pins only what changed (rewriting an unchanged image restarts
 * the container). An object whose images cannot be read is denied. With `pullSecrets`, the
 * images are read with the object's pull secrets (and its ServiceAccount's) first, and a
 * source's `signaturePullSecrets` are read in the object's namespace.
 */
export async function decideAdmission(
  evaluator: PolicyEvaluator,
  request: AdmissionRequest,
  mutate: boolean,
  signal: AbortSignal,
  validatePolicyObject?: PolicyObjectValidator,
  pullSecrets?: PullSecretCredentials,
  timeoutMs?: number,
): Promise<AdmissionDecision> {
  const uid = request.uid;
  const policyObject = await policyObjectDecision(request, mutate, validatePolicyObject);
  if (policyObject) return policyObject;
  if (skipReason(request) !== undefined || request.object === null) return { review: admissionResponse({ uid, allowed: true }), images: 0, denied: false };
  let changed: ContainerImage[] | undefined;
  try {
    if (mutate && request.operation === 'UPDATE') changed = changedImages(request.object, request.oldObject, request.kind);
  } catch (err) {
    return { review: admissionResponse({ uid, allowed: false, message: `imgverify: ${errorMessage(err)}` }), images: 0, denied: true };
  }
  const workload = {
    object: request.object,
    kind: request.kind,
    resource: request.resource,
    ...(request.namespace !== undefined ? { namespace: request.namespace } : {}),
  };
  // The object's pull secrets travel with the evaluation of its images, and only with it; so do
  // the Secrets of its namespace that a policy's sources name (signaturePullSecrets).
  const { images, decisions, summary } = await evaluateWorkload(evaluator, workload, {
    signal,
    ...(changed ? { images: changed } : {}),
    ...(pullSecrets ? { pullSecrets } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  if (!summary.allowed) {
    return { review: admissionResponse({ uid, allowed: false, message: summary.message!, warnings: summary.warnings }), images: images.length, denied: true };
  }
  const patch = mutate
    ? buildImagePatch(
        images.flatMap((image, i) => {
          const pinned = decisions[i]!.pinned;
          return pinned !== undefined ? [{ path: image.path, image: image.image, newImage: pinned }] : [];
        }),
      )
    : undefined;
  return {
    review: admissionResponse({ uid, allowed: true, warnings: summary.warnings, ...(patch && patch.length > 0 ? { patch } : {}) }),
    images: images.length,
    denied: false,
  };
}
