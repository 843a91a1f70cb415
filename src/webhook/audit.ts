/**
 * An audit of running Pods: the images each Pod runs (./running-images), evaluated through the
 * admission entry (./workload: the Pod's resource, labels, namespace, pull secrets), with a
 * verdict per Pod that is the verdict an admission of it would get today: a Pod fails when any
 * of its images fails, and each image keeps its own decision and reason (kyverno/policies#1233:
 * multi-image Pods must not report the verdict of one image for all).
 *
 * No Kubernetes I/O here: the Pods come in as objects (a list, an informer's cache), so the CLI's
 * one-shot `imgverify audit` and the webhook's periodic audit share this.
 *
 * Verification is real every run: a run has its own verdict cache (a `VerificationRun`), never
 * the admission cache, so a signature deleted from the registry since the last admission (or the
 * last run) is noticed (kyverno#7525). Within a run each distinct digest is verified once per
 * policy and credential scope, as admissions share verdicts: a pass is shared by every Pod (it
 * is a fact about the signatures, whoever fetched them), a failure only by Pods with the same
 * pull secrets (with others, more may be readable: a signature repository one Pod's secrets can
 * read and another's cannot). Pods are evaluated
 * `concurrency` at a time, each Pod's images `IMAGE_CONCURRENCY` at a time, so an audit never has
 * more than `concurrency × IMAGE_CONCURRENCY` verifications in flight, apart from admissions.
 */
import { mapConcurrent } from '../util/pool';
import { errorMessage } from '../util/describe';
import { isRecord, own } from '../util/shape';
import { VerificationRun, type PolicyEvaluator } from './evaluate';
import type { ImageDecision, Verdict } from './outcomes';
import type { PullSecretCredentials } from './pull-secrets';
import { runningImages, type RunningImage } from './running-images';
import { evaluateWorkload } from './workload';

/** Pods audited at once by default. */
export const DEFAULT_AUDIT_CONCURRENCY = 4;
/** Images of one Pod verified at once. */
const IMAGE_CONCURRENCY = 2;
/** Deadline of one Pod's evaluation by default, ms (a cold registry, several images). */
const DEFAULT_AUDIT_POD_TIMEOUT_MS = 60_000;

export interface AuditOptions {
  /** Pods evaluated at once (default 4). */
  readonly concurrency?: number | undefined;
  /** Deadline of one Pod's evaluation, ms (default 60 s). */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Called after each Pod (progress bars). */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  /** Reads each Pod's pull secrets (and its ServiceAccount's), as admissions read them. */
  readonly pullSecrets?: PullSecretCredentials | undefined;
  /** Clock (tests). */
  readonly now?: (() => Date) | undefined;
}

/** One image of an audited Pod. */
export interface AuditedImage {
  /** The container (or image volume) name. */
  readonly container: string;
  readonly field: RunningImage['field'];
  /** As the pod spec writes it. */
  readonly specImage: string;
  /** What was verified (the Pod's repository at the running digest, or the spec's image). */
  readonly image: string;
  /** The container status's imageID, as reported. */
  readonly imageID?: string;
  readonly source: RunningImage['source'];
  readonly note?: string;
  readonly decision: ImageDecision;
}

export interface PodAudit {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  /** Any image denied: denied; else any warned: warned; else allowed. */
  readonly verdict: Verdict;
  /** Denied only because the registry (or the deadline) failed: nothing was learned about the signatures. */
  readonly operational: boolean;
  readonly images: readonly AuditedImage[];
  /** Why the Pod's images could not be read (it is denied). */
  readonly malformed?: string;
  /** The denial message an admission would give. */
  readonly message?: string;
  readonly warnings: readonly string[];
}

export interface AuditCounts {
  readonly allowed: number;
  readonly warned: number;
  readonly denied: number;
}

export interface AuditResult {
  /** RFC 3339. */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly pods: readonly PodAudit[];
  /** Pods not audited because they run nothing (Succeeded, Failed). */
  readonly skipped: number;
  readonly summary: {
    readonly pods: AuditCounts;
    /** Distinct images verified (by the reference verified: repository and digest), by their worst verdict. */
    readonly images: AuditCounts;
  };
}

/** Pods in these phases run no container. */
const FINISHED_PHASES: readonly string[] = ['Succeeded', 'Failed'];

function meta(pod: unknown): { name: string; namespace: string; uid?: string; phase?: string } {
  const metadata = isRecord(pod) ? own(pod, 'metadata') : undefined;
  const status = isRecord(pod) ? own(pod, 'status') : undefined;
  const field = (obj: unknown, key: string): string | undefined => {
    const v = isRecord(obj) ? own(obj, key) : undefined;
    return typeof v === 'string' ? v : undefined;
  };
  const uid = field(metadata, 'uid');
  const phase = field(status, 'phase');
  return {
    name: field(metadata, 'name') ?? '(unnamed)',
    namespace: field(metadata, 'namespace') ?? '',
    ...(uid !== undefined ? { uid } : {}),
    ...(phase !== undefined ? { phase } : {}),
  };
}

const RANK: Readonly<Record<Verdict, number>> = { allowed: 0, warned: 1, denied: 2 };

function count(verdicts: Iterable<Verdict>): AuditCounts {
  const c = { allowed: 0, warned: 0, denied: 0 };
  for (const v of verdicts) c[v]++;
  return c;
}

/** Audits one Pod. */
async function auditPod(evaluator: PolicyEvaluator, pod: unknown, run: VerificationRun, options: AuditOptions): Promise<PodAudit> {
  const { name, namespace, uid } = meta(pod);
  const base = { namespace, name, ...(uid !== undefined ? { uid } : {}) };
  let images: RunningImage[];
  try {
    images = runningImages(pod);
  } catch (err) {
    const malformed = errorMessage(err);
    return { ...base, verdict: 'denied', operational: false, images: [], malformed, message: `imgverify: ${malformed}`, warnings: [] };
  }
  const workload = {
    object: pod as Record<string, unknown>,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    ...(namespace !== '' ? { namespace } : {}),
  };
  const evaluation = await evaluateWorkload(evaluator, workload, {
    images,
    run,
    timeoutMs: options.timeoutMs ?? DEFAULT_AUDIT_POD_TIMEOUT_MS,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.pullSecrets ? { pullSecrets: options.pullSecrets } : {}),
  });
  const audited = images.map((image, i): AuditedImage => ({
    container: image.container,
    field: image.field,
    specImage: image.specImage,
    image: image.image,
    ...(image.imageID !== undefined ? { imageID: image.imageID } : {}),
    source: image.source,
    ...(image.note !== undefined ? { note: image.note } : {}),
    decision: evaluation.decisions[i]!,
  }));
  const verdict = audited.reduce<Verdict>((worst, i) => (RANK[i.decision.verdict] > RANK[worst] ? i.decision.verdict : worst), 'allowed');
  const failed = audited.filter((i) => i.decision.verdict !== 'allowed').flatMap((i) => i.decision.policies.filter((p) => !p.passed));
  return {
    ...base,
    verdict,
    operational: verdict !== 'allowed' && failed.length > 0 && failed.every((p) => p.operational),
    images: audited,
    ...(evaluation.summary.message !== undefined ? { message: evaluation.summary.message } : {}),
    warnings: evaluation.summary.warnings,
  };
}

/**
 * Audits Pods (objects as the API returns them): each Pod that runs (not Succeeded or Failed) is
 * evaluated as an admission of it would be, under the evaluator's policies in force. Never
 * rejects for a Pod: every failure is a verdict with a reason.
 */
export async function auditPods(evaluator: PolicyEvaluator, pods: readonly unknown[], options: AuditOptions = {}): Promise<AuditResult> {
  const now = options.now ?? ((): Date => new Date());
  const started = now();
  const concurrency = options.concurrency ?? DEFAULT_AUDIT_CONCURRENCY;
  const running = pods.filter((p) => !FINISHED_PHASES.includes(meta(p).phase ?? ''));
  const run = new VerificationRun(IMAGE_CONCURRENCY);
  const results: PodAudit[] = [];
  for await (const audit of mapConcurrent(running, concurrency, (pod) => auditPod(evaluator, pod, run, options))) {
    results.push(audit);
    options.onProgress?.(results.length, running.length);
  }
  results.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const worst = new Map<string, Verdict>();
  for (const pod of results) {
    for (const image of pod.images) {
      const before = worst.get(image.image);
      if (before === undefined || RANK[image.decision.verdict] > RANK[before]) worst.set(image.image, image.decision.verdict);
    }
  }
  return {
    startedAt: started.toISOString(),
    durationMs: Math.max(0, now().getTime() - started.getTime()),
    pods: results,
    skipped: pods.length - running.length,
    summary: { pods: count(results.map((p) => p.verdict)), images: count(worst.values()) },
  };
}
