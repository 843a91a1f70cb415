/**
 * An audit as OpenReports `Report` objects (openreports.io/v1alpha1, the API Kyverno and other
 * policy engines report through, which report UIs such as Policy Reporter read): one Report per
 * namespace, named `imgverify-images`, with one result per Pod.
 *
 * A result (openreports' ReportResult: `source`, `policy`, `rule`, `result` pass|fail|warn|error|skip,
 * `scored`, `timestamp`, `resources` (object references), `message`, `properties`):
 * - `result`: fail when any image of the Pod would be denied, warn when any would be admitted with
 *   a warning, error when it is denied only because the registry (or the deadline) failed, else
 *   pass. A Pod's result is never one image's: every image is in `message` and in `properties`.
 * - `policy`: the policies that failed (for fail/warn/error), else those that passed; ImagePolicies
 *   as `namespace/name`; `no-match` when no policy matched an image.
 * - `properties`: per image, `image.<field>.<container>` → `<verdict> <verified reference>`, and
 *   its reason (`reason.<field>.<container>`).
 *
 * A Report is bounded (the API server stores objects of at most ~1.5 MiB): past the budget,
 * passing results are left out first, and the summary still counts every Pod; an annotation says
 * how many were left out.
 */
import type { AuditedImage, AuditResult, PodAudit } from './audit';
import { decisionReason } from './outcomes';

export const REPORT_API_VERSION = 'openreports.io/v1alpha1';
export const REPORT_KIND = 'Report';
/** The name of imgverify's Report in each namespace. */
export const REPORT_NAME = 'imgverify-images';
/** `source` of the Report and its results. */
const REPORT_SOURCE = 'imgverify';
const REPORT_RULE = 'verify-images';
/** Labels of imgverify's Reports (how stale ones are found). */
export const REPORT_LABELS = Object.freeze({ 'app.kubernetes.io/managed-by': 'imgverify', 'app.kubernetes.io/name': 'imgverify' });
export const TRUNCATED_ANNOTATION = 'imgverify.dev/results-left-out';

/** Bytes of results one Report may hold (serialized), well below the API server's limit. */
const MAX_REPORT_BYTES = 900 * 1024;
const MAX_MESSAGE = 2048;
const MAX_PROPERTY = 512;

export type ReportResultValue = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export interface ReportResult {
  readonly source: string;
  readonly policy: string;
  readonly rule: string;
  readonly result: ReportResultValue;
  readonly scored: boolean;
  readonly timestamp: { readonly seconds: number; readonly nanos: number };
  readonly resources: ReadonlyArray<{ apiVersion: string; kind: string; name: string; namespace: string; uid?: string }>;
  readonly message: string;
  readonly properties: Readonly<Record<string, string>>;
}

export interface ReportObject {
  readonly apiVersion: typeof REPORT_API_VERSION;
  readonly kind: typeof REPORT_KIND;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly source: string;
  readonly summary: { readonly pass: number; readonly fail: number; readonly warn: number; readonly error: number; readonly skip: number };
  readonly results: readonly ReportResult[];
}

function bound(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function podResult(pod: PodAudit): ReportResultValue {
  if (pod.verdict === 'denied') return pod.operational ? 'error' : 'fail';
  return pod.verdict === 'warned' ? 'warn' : 'pass';
}

function imageKey(image: Pick<AuditedImage, 'field' | 'container'>): string {
  return `${image.field}.${image.container || '(unnamed)'}`;
}

/** The policies a result names: those that failed, else those that passed; `no-match` for images no policy matched. */
function policiesOf(pod: PodAudit, result: ReportResultValue): string {
  const names = new Set<string>();
  const failing = result !== 'pass';
  for (const image of pod.images) {
    if (failing && image.decision.verdict === 'allowed') continue;
    if (!image.decision.matched) names.add('no-match');
    for (const p of image.decision.policies) if (p.passed !== failing) names.add(p.policy);
  }
  if (pod.malformed !== undefined) names.add('(the pod spec)');
  return [...names].sort().join(', ') || 'no-match';
}

function resultOf(pod: PodAudit, startedAt: Date): ReportResult {
  const result = podResult(pod);
  const lines =
    pod.malformed !== undefined
      ? [`the Pod's images cannot be read: ${pod.malformed}`]
      : pod.images.map((i) => `${imageKey(i)} ${i.image}: ${i.decision.verdict}${i.decision.reason ? `: ${decisionReason(i.decision)}` : ''}`);
  const denied = pod.images.filter((i) => i.decision.verdict === 'denied').length;
  const head =
    pod.malformed !== undefined
      ? ''
      : `${denied > 0 ? `${denied} of ${pod.images.length} images denied` : `${pod.images.length} image${pod.images.length === 1 ? '' : 's'} ${result === 'warn' ? 'admitted with warnings' : 'verified'}`}. `;
  const properties: Record<string, string> = {};
  for (const i of pod.images) {
    properties[`image.${imageKey(i)}`] = bound(`${i.decision.verdict} ${i.image}`, MAX_PROPERTY);
    if (i.decision.reason !== undefined) properties[`reason.${imageKey(i)}`] = bound(decisionReason(i.decision)!, MAX_PROPERTY);
    if (i.note !== undefined) properties[`note.${imageKey(i)}`] = bound(i.note, MAX_PROPERTY);
  }
  const ms = startedAt.getTime();
  return {
    source: REPORT_SOURCE,
    policy: bound(policiesOf(pod, result), MAX_PROPERTY),
    rule: REPORT_RULE,
    result,
    scored: true,
    timestamp: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 },
    resources: [{ apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace, ...(pod.uid !== undefined ? { uid: pod.uid } : {}) }],
    message: bound(`${head}${lines.join('; ')}`, MAX_MESSAGE),
    properties,
  };
}

const ORDER: Readonly<Record<ReportResultValue, number>> = { fail: 0, error: 1, warn: 2, skip: 3, pass: 4 };

/** The Report of one namespace: every Pod counted, results within the byte budget (failures first). */
export function namespaceReport(namespace: string, pods: readonly PodAudit[], startedAt: Date, maxBytes = MAX_REPORT_BYTES): ReportObject {
  const all = pods.map((p) => resultOf(p, startedAt));
  const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of all) summary[r.result]++;
  const ordered = [...all].sort((a, b) => ORDER[a.result] - ORDER[b.result] || a.resources[0]!.name.localeCompare(b.resources[0]!.name));
  const kept: ReportResult[] = [];
  let bytes = 0;
  for (const r of ordered) {
    const size = JSON.stringify(r).length + 1;
    if (bytes + size > maxBytes) break;
    kept.push(r);
    bytes += size;
  }
  kept.sort((a, b) => a.resources[0]!.name.localeCompare(b.resources[0]!.name));
  const leftOut = all.length - kept.length;
  return {
    apiVersion: REPORT_API_VERSION,
    kind: REPORT_KIND,
    metadata: {
      name: REPORT_NAME,
      namespace,
      labels: { ...REPORT_LABELS },
      ...(leftOut > 0 ? { annotations: { [TRUNCATED_ANNOTATION]: String(leftOut) } } : {}),
    },
    source: REPORT_SOURCE,
    summary,
    results: kept,
  };
}

/** One Report per namespace of the audit (and an empty one for each of `namespaces` without Pods). */
export function auditReports(result: AuditResult, namespaces: readonly string[] = []): ReportObject[] {
  const byNamespace = new Map<string, PodAudit[]>();
  for (const ns of namespaces) byNamespace.set(ns, []);
  for (const pod of result.pods) {
    if (pod.namespace === '') continue;
    const list = byNamespace.get(pod.namespace) ?? [];
    list.push(pod);
    byNamespace.set(pod.namespace, list);
  }
  const started = new Date(result.startedAt);
  return [...byNamespace.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([ns, pods]) => namespaceReport(ns, pods, started));
}
