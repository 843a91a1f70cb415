/**
 * The webhook's periodic audit (`imgverify webhook --audit-interval D`): the Pods of every
 * namespace from an informer (list, then watch: no list of the whole cluster every interval),
 * audited every interval under the policies in force (../audit, the same entry as `imgverify
 * audit`), with `imgverify_audit_*` metrics and, when asked, the OpenReports Reports written.
 *
 * It must not starve admissions: a run verifies at most `concurrency × 2` images at once, on its
 * own verdict cache (so it never fills nor reads the admission cache: every run verifies for
 * real, kyverno#7525), and runs never overlap (a run longer than the interval delays the next).
 * A run waits for the Pod informer to be synced and a policy set to be in force; a failed run is
 * counted and logged, and the next interval tries again.
 */
import { errorMessage } from '../../util/describe';
import type { PolicyEvaluator } from '../evaluate';
import type { Logger } from '../log';
import type { WebhookMetrics } from '../metrics';
import { PullSecretCredentials } from '../pull-secrets';
import { KubeApi } from './api';
import type { KubeConnectionOptions } from './config';
import { auditAndReport, checkReportsServed } from './cluster-audit';
import type { ResourceInformer } from './informer';
import { kubeObjectCredentialSource } from './object-credentials';
import { PODS } from './resources';

/** Pods audited at once by the webhook by default: admissions come first. */
const DEFAULT_WEBHOOK_AUDIT_CONCURRENCY = 2;

export interface AuditLoopOptions {
  readonly api: KubeApi;
  readonly evaluator: PolicyEvaluator;
  readonly intervalMs: number;
  readonly writeReports?: boolean;
  /** Pods audited at once (default 2; each verifies up to 2 images at once). */
  readonly concurrency?: number;
  /** Deadline of one Pod's evaluation, ms. */
  readonly podTimeoutMs?: number;
  readonly pullSecrets?: () => PullSecretCredentials | undefined;
  readonly metrics: WebhookMetrics;
  readonly log: Logger;
}

export class AuditLoop {
  private readonly pods: ResourceInformer;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  private reportsChecked = false;
  private ownPullSecrets: PullSecretCredentials | undefined;

  private constructor(private readonly options: AuditLoopOptions) {
    this.pods = options.api.informer(PODS, { log: options.log, onChange: () => undefined });
  }

  /** Starts the informer; the first run follows as soon as it is synced and policies are in force. */
  static start(options: AuditLoopOptions): AuditLoop {
    const loop = new AuditLoop(options);
    options.log('info', 'auditing running Pods periodically', {
      intervalMs: options.intervalMs,
      writeReports: options.writeReports === true,
      concurrency: options.concurrency ?? DEFAULT_WEBHOOK_AUDIT_CONCURRENCY,
    });
    loop.pods.start();
    loop.schedule(250);
    return loop;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Not yet possible: look again shortly rather than waiting a whole interval.
      if (!this.pods.synced || !this.options.evaluator.ready) return this.schedule(Math.min(1000, this.options.intervalMs));
      this.running = this.run().finally(() => {
        this.running = undefined;
        this.schedule(this.options.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  /** One run now (tests; the loop calls it on its timer). */
  async run(): Promise<void> {
    const { metrics, log } = this.options;
    const started = Date.now();
    try {
      if (this.options.writeReports && !this.reportsChecked) {
        await checkReportsServed(this.options.api);
        this.reportsChecked = true;
      }
      // The server's (shared with admissions: one cache of Secret reads), else this connection's own.
      this.ownPullSecrets ??= new PullSecretCredentials(kubeObjectCredentialSource(this.options.api));
      const pullSecrets = this.options.pullSecrets?.() ?? this.ownPullSecrets;
      const result = await auditAndReport(
        {
          api: this.options.api,
          evaluator: this.options.evaluator,
          log,
          concurrency: this.options.concurrency ?? DEFAULT_WEBHOOK_AUDIT_CONCURRENCY,
          signal: this.abort.signal,
          ...(this.options.podTimeoutMs !== undefined ? { timeoutMs: this.options.podTimeoutMs } : {}),
          ...(this.options.writeReports ? { writeReports: true } : {}),
          ...(pullSecrets ? { pullSecrets } : {}),
        },
        this.pods.objects(),
      );
      if (this.stopped) return;
      for (const verdict of ['allowed', 'warned', 'denied'] as const) {
        metrics.auditPods.set(result.summary.pods[verdict], { verdict });
        metrics.auditImages.set(result.summary.images[verdict], { verdict });
      }
      metrics.auditLastRun.set(Math.round(Date.now() / 1000));
      metrics.auditDuration.set((Date.now() - started) / 1000);
      metrics.auditRuns.inc({ result: 'completed' });
      if (result.reports) {
        metrics.auditReportWrites.inc({ result: 'written' }, result.reports.written);
        metrics.auditReportWrites.inc({ result: 'unchanged' }, result.reports.unchanged);
        metrics.auditReportWrites.inc({ result: 'failed' }, result.reports.failed.length);
      }
      const denied = result.pods.filter((p) => p.verdict === 'denied');
      log(denied.length > 0 ? 'warn' : 'info', 'audit run finished', {
        pods: result.summary.pods,
        images: result.summary.images,
        durationMs: Date.now() - started,
        denied: denied.slice(0, 20).map((p) => `${p.namespace}/${p.name}`),
        ...(result.reports ? { reports: { written: result.reports.written, unchanged: result.reports.unchanged, failed: result.reports.failed.length } } : {}),
      });
    } catch (err) {
      if (this.stopped) return;
      metrics.auditRuns.inc({ result: 'failed' });
      log('error', 'audit run failed; trying again at the next interval', { error: errorMessage(err) });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort(new Error('the webhook is shutting down'));
    await this.running?.catch(() => undefined);
    await this.pods.stop();
  }
}

/** Connects to the API server (the webhook's cluster connection options) and starts the loop. */
export async function startAuditLoop(options: Omit<AuditLoopOptions, 'api'> & { readonly connection: KubeConnectionOptions }): Promise<AuditLoop> {
  const { connection, ...rest } = options;
  return AuditLoop.start({ ...rest, api: await KubeApi.connect(connection) });
}
