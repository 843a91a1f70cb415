/**
 * An audit of the cluster (`imgverify audit`): the Pods listed from the API (every namespace,
 * or one), audited under the policies (../audit), and the OpenReports Reports written when asked
 * (./report-writer). The policies are those in force in the evaluator, or the cluster's own:
 * ClusterImagePolicy, ImagePolicy and TrustRoot objects, read once through the webhook's own
 * loader (./cluster-policies, without writing their status).
 */
import { ImgverifyError, type TrustRootInput } from '../../index';
import { auditPods, type AuditOptions, type AuditResult } from '../audit';
import type { PolicyEvaluator } from '../evaluate';
import type { Logger } from '../log';
import { WebhookMetrics } from '../metrics';
import { PullSecretCredentials } from '../pull-secrets';
import { auditReports, namespaceReport } from '../reports';
import { TrustRefresher } from '../trust-refresh';
import type { KubeApi } from './api';
import { ClusterPolicySource } from './cluster-policies';
import { kubeObjectCredentialSource } from './object-credentials';
import { writeReports, type ReportWriteResult } from './report-writer';
import { PODS, REPORTS, type KubeObject } from './resources';

export interface ClusterPoliciesOnce {
  /** Where the TUF caches of TrustRoot `remote`s are. */
  readonly tufCacheDir: string;
  readonly offline?: boolean;
  /** The evaluator's default trust (refreshed if TUF-backed). */
  readonly trustedRoot?: readonly TrustRootInput[];
  readonly allowEmpty?: boolean;
  /** How long to wait for the policies to load, ms (default 30 s). */
  readonly timeoutMs?: number;
}

/**
 * Puts the cluster's policies in force in `evaluator`, as the webhook loads them (each object on
 * its own; those that do not load are left out and logged). Throws when they cannot be read within
 * the deadline (the API unreachable, the CRDs missing, an empty set refused).
 */
export async function loadClusterPolicies(api: KubeApi, evaluator: PolicyEvaluator, options: ClusterPoliciesOnce, log: Logger): Promise<void> {
  const metrics = new WebhookMetrics();
  const trust = new TrustRefresher({
    cacheDir: options.tufCacheDir,
    ...(options.offline ? { offline: true } : {}),
    defaults: options.trustedRoot ?? [],
    metrics,
    log,
  });
  const source = ClusterPolicySource.start({ api, evaluator, trust, metrics, log, writeStatus: false, ...(options.allowEmpty ? { allowEmpty: true } : {}) });
  try {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    while (!source.ready()) {
      if (Date.now() > deadline) {
        throw new ImgverifyError('INVALID_POLICY', `the cluster's policies cannot be read: ${source.notReadyReason() ?? 'not loaded in time'}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    trust.stop();
    await source.stop();
  }
}

/** The Pods of a namespace, or of every namespace. */
async function listPods(api: KubeApi, namespace?: string): Promise<KubeObject[]> {
  return (await api.list(PODS, namespace)).items;
}

export interface RunClusterAuditOptions extends AuditOptions {
  readonly api: KubeApi;
  readonly evaluator: PolicyEvaluator;
  /** Only this namespace's Pods (and Reports). */
  readonly namespace?: string;
  readonly writeReports?: boolean;
  readonly log: Logger;
}

/** Checks that the API serves OpenReports' Report (a clear error instead of a 404 per namespace). */
export async function checkReportsServed(api: KubeApi): Promise<void> {
  const served = await api.servedVersions(REPORTS.group);
  if (!served?.includes(REPORTS.version)) {
    throw new ImgverifyError(
      'INVALID_OPTIONS',
      `the API server serves no ${REPORTS.group}/${REPORTS.version} Report: install OpenReports' CRD (deploy/openreports/crd-report.yaml) to write reports`,
    );
  }
}

/** Audits the given Pods and writes their Reports when asked. */
export async function auditAndReport(
  options: RunClusterAuditOptions,
  pods: readonly KubeObject[],
): Promise<AuditResult & { readonly reports?: ReportWriteResult }> {
  const { api, evaluator, namespace, log } = options;
  const audit = await auditPods(evaluator, pods, options);
  if (!options.writeReports) return audit;
  const started = new Date(audit.startedAt);
  const reports = await writeReports(api, auditReports(audit), namespace, log, (ns) => namespaceReport(ns, [], started));
  return { ...audit, reports };
}

/** Lists the Pods, audits them (with their pull secrets, read from the API), writes the Reports when asked. */
export async function runClusterAudit(options: RunClusterAuditOptions): Promise<AuditResult & { readonly reports?: ReportWriteResult }> {
  if (options.writeReports) await checkReportsServed(options.api);
  const pullSecrets = options.pullSecrets ?? new PullSecretCredentials(kubeObjectCredentialSource(options.api));
  return auditAndReport({ ...options, pullSecrets }, await listPods(options.api, options.namespace));
}
