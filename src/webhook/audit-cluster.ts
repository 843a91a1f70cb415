/**
 * `auditCluster`: what `imgverify audit` runs, for embedding. Connects to the Kubernetes API the
 * way the webhook does (a kubeconfig, `$KUBECONFIG`, in a Pod, `~/.kube/config`), lists the Pods
 * (every namespace, or one), audits the images they run (./audit) under the evaluator's policies
 * (or the cluster's own, put in force first), and writes OpenReports Reports when asked
 * (./reports). The Kubernetes client is loaded only when this runs.
 */
import type { TrustRootInput } from '../index';
import type { AuditOptions, AuditResult } from './audit';
import type { PolicyEvaluator } from './evaluate';
import type { Logger } from './log';

export interface ClusterAuditOptions extends AuditOptions {
  /** The evaluator: its backend (registries, trust) verifies; its policies decide, unless `clusterPolicies`. */
  readonly evaluator: PolicyEvaluator;
  /** A kubeconfig file (default: `$KUBECONFIG`, the in-cluster configuration, `~/.kube/config`). */
  readonly kubeconfig?: string;
  /** A context of the kubeconfig other than its current one. */
  readonly context?: string;
  /** The environment the configuration is looked up in; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Only the Pods of this namespace (default: every namespace). */
  readonly namespace?: string;
  /**
   * Put the cluster's policies in force first (ClusterImagePolicy, ImagePolicy, TrustRoot objects),
   * as the webhook loads them; `secretRef` Secrets are read in `webhookNamespace`.
   */
  readonly clusterPolicies?: {
    /** Default `imgverify-system`. */
    readonly webhookNamespace?: string;
    readonly tufCacheDir: string;
    readonly offline?: boolean;
    readonly trustedRoot?: readonly TrustRootInput[];
    readonly allowEmpty?: boolean;
  };
  /** Create or update one OpenReports Report per namespace. */
  readonly writeReports?: boolean;
  readonly log?: Logger;
}

export interface ClusterAuditResult extends AuditResult {
  /** With `writeReports`: Reports written, unchanged, and those that could not be written. */
  readonly reports?: {
    readonly written: number;
    readonly unchanged: number;
    readonly failed: ReadonlyArray<{ readonly namespace: string; readonly error: string }>;
  };
}

/** Audits the Pods of the cluster (see ClusterAuditOptions). */
export async function auditCluster(options: ClusterAuditOptions): Promise<ClusterAuditResult> {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when auditing: importing imgverify/webhook never loads the Kubernetes client */
  const { KubeApi } = require('./kube/api') as typeof import('./kube/api');
  const { loadClusterPolicies, runClusterAudit } = require('./kube/cluster-audit') as typeof import('./kube/cluster-audit');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const log: Logger = options.log ?? ((): void => undefined);
  const { clusterPolicies } = options;
  const api = await KubeApi.connect({
    ...(options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : {}),
    ...(options.context !== undefined ? { context: options.context } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
    // The namespace of secretRef Secrets, as the webhook's.
    namespace: clusterPolicies?.webhookNamespace ?? 'imgverify-system',
  });
  if (clusterPolicies) await loadClusterPolicies(api, options.evaluator, clusterPolicies, log);
  return runClusterAudit({ ...options, api, log });
}
