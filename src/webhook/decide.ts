/**
 * One admission decision: the images of the request's object, evaluated under the policies,
 * answered as an AdmissionReview (with a JSONPatch pinning digests when mutating).
 */
import {
  admissionResponse,
  buildImagePatch,
  changedImages,
  extractImages,
  skipReason,
  type AdmissionRequest,
  type AdmissionReviewResponse,
  type ContainerImage,
} from './admission';
import type { PolicyEvaluator } from './evaluate';
import { summarize } from './outcomes';
import { errorMessage } from '../util/describe';
import { objectLabels } from './resource-match';

export interface AdmissionDecision {
  readonly review: AdmissionReviewResponse;
  /** Images evaluated. */
  readonly images: number;
  readonly denied: boolean;
}

/**
 * Validation (`mutate` false) checks every image of the object, as a policy added since
 * creation applies; mutation pins only what changed (rewriting an unchanged image restarts
 * the container). An object whose images cannot be read is denied.
 */
export async function decideAdmission(evaluator: PolicyEvaluator, request: AdmissionRequest, mutate: boolean, signal: AbortSignal): Promise<AdmissionDecision> {
  const uid = request.uid;
  if (skipReason(request) !== undefined) return { review: admissionResponse({ uid, allowed: true }), images: 0, denied: false };
  let images: ContainerImage[];
  try {
    images = mutate && request.operation === 'UPDATE' ? changedImages(request.object, request.oldObject, request.kind) : extractImages(request.object, request.kind);
  } catch (err) {
    return { review: admissionResponse({ uid, allowed: false, message: `imgverify: ${errorMessage(err)}` }), images: 0, denied: true };
  }
  if (images.length === 0) return { review: admissionResponse({ uid, allowed: true }), images: 0, denied: false };
  // spec.match reads what the API server admits and the object's own labels (not its pod template's).
  const object = { resource: request.resource, labels: objectLabels(request.object) };
  const decisions = await evaluator.evaluate(
    images.map((i) => i.image),
    { signal, object },
  );
  const summary = summarize(decisions);
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
