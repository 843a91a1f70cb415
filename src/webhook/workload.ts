/**
 * One object's images evaluated the way an admission evaluates them: the one entry that
 * admissions (./decide), manifests (`imgverify policy test -f`, ./manifests) and audits of
 * running Pods (./audit) all call, so that the three can never decide differently.
 *
 *   object ──► its images (the pod spec's, or those given: an audit's running images)
 *          ──► its pull secrets (./pull-secrets: the pod spec's, then its ServiceAccount's)
 *          ──► PolicyEvaluator.evaluate(images, {object: resource + labels, namespace, credentials,
 *                                               signatureSecrets: the namespace's Secrets a source names})
 *          ──► per image a decision, and the admission answer (summarize)
 *
 * An object whose images cannot be read (a field of the wrong type) is denied, with why.
 */
import { extractImages, type ContainerImage, type GroupVersionKind, type GroupVersionResource } from './admission';
import type { PolicyEvaluator, VerificationRun } from './evaluate';
import { summarize, type AdmissionSummary, type ImageDecision } from './outcomes';
import type { PullSecretCredentials } from './pull-secrets';
import { objectLabels } from './resource-match';
import { errorMessage } from '../util/describe';

/** An object whose images are evaluated, and what `spec.match` and ImagePolicies read of it. */
export interface Workload {
  /** The object (JSON), as the API server holds it or a manifest writes it. */
  readonly object: Record<string, unknown>;
  /** Its kind: where its pod spec is. */
  readonly kind: GroupVersionKind;
  /** What the API server admits it as (an AdmissionReview's `request.resource`; for a manifest or a listed Pod, from its kind): read by `spec.match`. */
  readonly resource: GroupVersionResource;
  /** Its namespace: ImagePolicies of other namespaces do not apply (absent: every ImagePolicy applies). */
  readonly namespace?: string;
}

export interface WorkloadEvaluationOptions {
  readonly signal?: AbortSignal | undefined;
  /** Deadline of the evaluation, ms (default: the evaluator's). */
  readonly timeoutMs?: number | undefined;
  /** The images to evaluate instead of every image of the object's pod spec (an audit: what its containers run; a mutation: what changed). */
  readonly images?: readonly ContainerImage[] | undefined;
  /** A run apart from admissions (an audit, a manifest check): verdicts shared within it only. */
  readonly run?: VerificationRun | undefined;
  /**
   * Reads the object's pull secrets (its pod spec's imagePullSecrets, then its ServiceAccount's,
   * in its namespace): tried first for its images; and the Secrets of its namespace that an
   * authority source's `signaturePullSecrets` name (without it such a source fails).
   */
  readonly pullSecrets?: PullSecretCredentials | undefined;
}

export interface WorkloadEvaluation {
  /** The images evaluated. */
  readonly images: readonly ContainerImage[];
  /** One decision per image, in the same order. */
  readonly decisions: readonly ImageDecision[];
  /** The admission answer: allowed or not, the denial's message, the warnings. */
  readonly summary: AdmissionSummary;
  /** Why the object's images could not be read, when they could not (it is then denied). */
  readonly malformed?: string;
}

/**
 * Evaluates the images of one object under the evaluator's policies, as an admission of that
 * object would. Never rejects.
 */
export async function evaluateWorkload(evaluator: PolicyEvaluator, workload: Workload, options: WorkloadEvaluationOptions = {}): Promise<WorkloadEvaluation> {
  let images: readonly ContainerImage[];
  try {
    images = options.images ?? extractImages(workload.object, workload.kind);
  } catch (err) {
    const malformed = errorMessage(err);
    return { images: [], decisions: [], summary: { allowed: false, message: `imgverify: ${malformed}`, warnings: [] }, malformed };
  }
  if (images.length === 0) return { images, decisions: [], summary: { allowed: true, warnings: [] } };
  // spec.match reads what the API server admits and the object's own labels (not its pod template's).
  const object = { resource: workload.resource, labels: objectLabels(workload.object) };
  // The object's pull secrets travel with the evaluation of its images, and only with it; so do
  // the Secrets of its namespace that a policy's sources name (signaturePullSecrets).
  const { pullSecrets } = options;
  const credentials = pullSecrets?.forObject(workload.namespace, workload.object, workload.kind);
  const namespace = workload.namespace;
  const signatureSecrets = pullSecrets && namespace ? (names: readonly string[]) => pullSecrets.forSecrets(namespace, names) : undefined;
  const decisions = await evaluator.evaluate(
    images.map((i) => i.image),
    {
      object,
      ...(workload.namespace !== undefined ? { namespace: workload.namespace } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.run ? { run: options.run } : {}),
      ...(credentials ? { credentials } : {}),
      ...(signatureSecrets ? { signatureSecrets } : {}),
    },
  );
  return { images, decisions, summary: summarize(decisions) };
}
