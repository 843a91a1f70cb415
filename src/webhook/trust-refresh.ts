/**
 * The webhook's trust over time: the TrustRoot documents of the policy set in force, loaded when
 * the set changes, and every TUF-backed root (TrustRoot `remote`, and a default trust from
 * `imgverify initialize`) refreshed periodically without a restart, with metrics for each
 * root's metadata expiry and last refresh.
 */
import { TufTrustRoot, type ImgverifyError, type TrustRootInput } from '../index';
import type { Logger } from './log';
import type { WebhookMetrics } from './metrics';
import type { PolicySet } from './policy-folder';
import { TrustRootSet } from './trust-root-set';
import { errorMessage } from '../util/describe';

export const DEFAULT_TRUST_REFRESH_INTERVAL_MS = 10 * 60_000;

export interface TrustRefreshOptions {
  readonly cacheDir: string;
  readonly offline?: boolean;
  readonly defaults: readonly TrustRootInput[];
  readonly metrics: WebhookMetrics;
  readonly log: Logger;
}

export class TrustRefresher {
  readonly roots: TrustRootSet;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TrustRefreshOptions) {
    this.roots = new TrustRootSet({ cacheDir: options.cacheDir, ...(options.offline ? { offline: true } : {}) });
    this.track();
  }

  /** Loads the TrustRoots of a policy set (before it is put in force); logs those that fail (they fail closed). */
  async load(set: Pick<PolicySet, 'trustRoots'>): Promise<void> {
    const errors = await this.roots.load(set.trustRoots);
    for (const { name, error } of errors) {
      this.options.metrics.trustRootRefreshes.inc({ trust_root: name, result: 'failed' });
      this.options.log('error', 'TrustRoot cannot be loaded; authorities using it fail until it can', {
        trustRoot: name,
        code: error.code,
        error: error.message,
      });
    }
    this.track();
  }

  /** Refreshes every TUF-backed root now (an update from its mirror only when due). */
  async refresh(): Promise<void> {
    const { metrics, log } = this.options;
    for (const r of await this.roots.refresh()) {
      metrics.trustRootRefreshes.inc({ trust_root: r.name, result: r.result });
      if (r.result !== 'refreshed')
        log(r.result === 'failed' ? 'error' : 'warn', 'TrustRoot refresh failed', { trustRoot: r.name, result: r.result, error: r.message });
    }
    for (const root of this.options.defaults) {
      if (!(root instanceof TufTrustRoot)) continue;
      try {
        const result = await root.refresh();
        metrics.trustRootRefreshes.inc({ trust_root: 'default', result: result.warning ? 'kept' : 'refreshed' });
        if (result.warning) log('warn', 'default trust refresh failed; keeping the cached TUF metadata', { error: result.warning });
      } catch (err) {
        metrics.trustRootRefreshes.inc({ trust_root: 'default', result: 'failed' });
        log('error', 'default trust refresh failed', { code: (err as ImgverifyError).code, error: errorMessage(err) });
      }
    }
    this.track();
  }

  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.refresh(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private track(): void {
    const { metrics } = this.options;
    for (const r of this.roots.all) {
      if (r.lastRefresh > 0) metrics.trustRootLastRefresh.set(Math.floor(r.lastRefresh / 1000), { trust_root: r.name });
      if (r.expires !== undefined) metrics.trustRootExpiry.set(Math.floor(r.expires / 1000), { trust_root: r.name });
    }
    for (const root of this.options.defaults) {
      if (!(root instanceof TufTrustRoot)) continue;
      const status = root.status();
      metrics.trustRootLastRefresh.set(Math.floor(Date.parse(status.updatedAt) / 1000), { trust_root: 'default' });
      metrics.trustRootExpiry.set(Math.floor(Date.parse(status.expires) / 1000), { trust_root: 'default' });
    }
  }
}
