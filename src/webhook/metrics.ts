/**
 * The webhook's metrics in the Prometheus text exposition format (version 0.0.4), written
 * by hand: a few counters, gauges and one histogram do not need a client library.
 *
 *   imgverify_admission_requests_total{path,result}      counter
 *   imgverify_admission_duration_seconds{path}            histogram
 *   imgverify_image_verdicts_total{verdict,matched}       counter
 *   imgverify_cache_hits_total / imgverify_cache_misses_total
 *   imgverify_policy_reloads_total{result}                counter
 *   imgverify_tls_reloads_total{result}                   counter
 *   imgverify_policies / imgverify_cache_entries / imgverify_ready   gauges
 *   imgverify_trust_root_expiry_timestamp_seconds{trust_root}        gauge (TUF metadata expiry)
 *   imgverify_trust_root_last_refresh_timestamp_seconds{trust_root}  gauge
 *   imgverify_trust_root_refreshes_total{trust_root,result}          counter
 *   imgverify_kubernetes_synced{resource}                 gauge (cluster mode: 1 while read)
 *   imgverify_policy_objects{kind,ready}                  gauge (cluster mode: objects by Ready)
 *   imgverify_status_writes_total{result}                 counter (cluster mode)
 *   imgverify_webhook_unhandled_rejections_total                      counter
 *   imgverify_admissions_in_flight / imgverify_admission_body_bytes_in_flight /
 *   imgverify_admissions_queued                                       gauges
 *   imgverify_audit_pods{verdict} / imgverify_audit_images{verdict}   gauges (the last audit run)
 *   imgverify_audit_last_run_timestamp_seconds / imgverify_audit_last_run_duration_seconds   gauges
 *   imgverify_audit_runs_total{result} / imgverify_audit_report_writes_total{result}        counters
 *   imgverify_tag_lookups_total{result}                   counter (hit: no registry request)
 *   imgverify_tag_refreshes_total{result}                 counter (background tag resolutions)
 *   imgverify_tag_cache_entries                           gauge
 */

export type Labels = Readonly<Record<string, string>>;

/** Default latency buckets (seconds): admission answers are expected within 10 s. */
const DURATION_BUCKETS = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** Label values: backslash, double quote and line feed are escaped (the format's rules). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function labelKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  for (const name of names) if (!LABEL.test(name) || name.startsWith('__')) throw new Error(`invalid label name ${name}`);
  return names.map((name) => `${name}="${escapeLabelValue(labels[name]!)}"`).join(',');
}

/** Numbers as Prometheus writes them: integers plainly, +Inf/-Inf/NaN by name. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function series(name: string, key: string, value: number): string {
  return `${name}${key ? `{${key}}` : ''} ${formatValue(value)}\n`;
}

/**
 * How one metric of several processes (./workers.ts) adds up into what a scrape of the shared
 * port shows: `sum` (requests, cache entries: each worker's own), `max` (each worker does the
 * same thing once: reloading the shared certificate), `primary` (the primary's alone: what the
 * policy source, the trust and readiness are).
 */
export type Aggregation = 'sum' | 'max' | 'primary';

/** One metric's series as data: label key → value (a histogram: its bucket counts, sum and count). */
export type MetricSnapshot = ReadonlyArray<readonly [string, number | { readonly counts: readonly number[]; readonly sum: number; readonly count: number }]>;

interface Metric {
  readonly name: string;
  readonly aggregation: Aggregation;
  render(): string;
  snapshot(): MetricSnapshot;
  /** Adds another process's series in (by `aggregation`; `primary` metrics only from the primary). */
  merge(snapshot: MetricSnapshot, fromPrimary: boolean): void;
}

function mergeNumber(values: Map<string, number>, snapshot: MetricSnapshot, aggregation: Aggregation): void {
  for (const [key, value] of snapshot) {
    if (typeof value !== 'number') continue;
    const before = values.get(key);
    values.set(key, before === undefined ? value : aggregation === 'max' ? Math.max(before, value) : before + value);
  }
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly aggregation: Aggregation = 'sum',
  ) {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${name}`);
  }

  snapshot(): MetricSnapshot {
    return [...this.values];
  }

  merge(snapshot: MetricSnapshot): void {
    mergeNumber(this.values, snapshot, this.aggregation === 'max' ? 'max' : 'sum');
  }

  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new Error(`counter ${this.name} can only go up`);
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} counter\n`;
    for (const [key, value] of this.values) out += series(this.name, key, value);
    return out;
  }
}

export class Gauge implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly aggregation: Aggregation = 'primary',
  ) {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${name}`);
  }

  snapshot(): MetricSnapshot {
    return [...this.values];
  }

  merge(snapshot: MetricSnapshot, fromPrimary: boolean): void {
    if (this.aggregation !== 'primary' || fromPrimary) mergeNumber(this.values, snapshot, this.aggregation === 'max' ? 'max' : 'sum');
  }

  set(value: number, labels: Labels = {}): void {
    this.values.set(labelKey(labels), value);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} gauge\n`;
    for (const [key, value] of this.values) out += series(this.name, key, value);
    return out;
  }
}

export class Histogram implements Metric {
  private readonly data = new Map<string, { counts: number[]; sum: number; count: number }>();
  readonly buckets: readonly number[];
  readonly aggregation: Aggregation = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[] = DURATION_BUCKETS,
  ) {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }

  snapshot(): MetricSnapshot {
    return [...this.data].map(([key, e]) => [key, { counts: [...e.counts], sum: e.sum, count: e.count }] as const);
  }

  merge(snapshot: MetricSnapshot): void {
    for (const [key, value] of snapshot) {
      if (typeof value === 'number' || value.counts.length !== this.buckets.length) continue;
      const entry = this.data.get(key) ?? { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      value.counts.forEach((c, i) => (entry.counts[i]! += c));
      entry.sum += value.sum;
      entry.count += value.count;
      this.data.set(key, entry);
    }
  }

  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let entry = this.data.get(key);
    if (!entry) {
      entry = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.data.set(key, entry);
    }
    // Counts are stored per bucket and made cumulative when rendered.
    const index = this.buckets.findIndex((upper) => value <= upper);
    if (index !== -1) entry.counts[index]!++;
    entry.sum += value;
    entry.count++;
  }

  count(labels: Labels = {}): number {
    return this.data.get(labelKey(labels))?.count ?? 0;
  }

  render(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} histogram\n`;
    for (const [key, entry] of this.data) {
      const prefix = key ? `${key},` : '';
      let cumulative = 0;
      this.buckets.forEach((upper, i) => {
        cumulative += entry.counts[i]!;
        out += series(`${this.name}_bucket`, `${prefix}le="${formatValue(upper)}"`, cumulative);
      });
      out += series(`${this.name}_bucket`, `${prefix}le="+Inf"`, entry.count);
      out += series(`${this.name}_sum`, key, entry.sum);
      out += series(`${this.name}_count`, key, entry.count);
    }
    return out;
  }
}

/** The webhook's metrics, rendered in registration order. */
export class WebhookMetrics {
  readonly requests = new Counter(
    'imgverify_admission_requests_total',
    'Admission requests answered, by path and result (allowed, denied, invalid, overloaded, error).',
  );
  readonly duration = new Histogram('imgverify_admission_duration_seconds', 'Time to answer an admission request, by path.');
  readonly verdicts = new Counter(
    'imgverify_image_verdicts_total',
    'Image decisions: verdict allowed, warned or denied; matched is false for images no policy matches.',
  );
  readonly cacheHits = new Counter('imgverify_cache_hits_total', 'Policy evaluations answered from the verification cache (or joined while in flight).');
  readonly cacheMisses = new Counter('imgverify_cache_misses_total', 'Policy evaluations that had to verify signatures.');
  readonly policyReloads = new Counter('imgverify_policy_reloads_total', 'Policy folder changes, by result (loaded, rejected).');
  readonly tlsReloads = new Counter('imgverify_tls_reloads_total', 'Serving certificate changes, by result (loaded, rejected).', 'max');
  readonly policies = new Gauge('imgverify_policies', 'ClusterImagePolicies in force.');
  readonly cacheEntries = new Gauge('imgverify_cache_entries', 'Entries in the verification cache (of every worker).', 'sum');
  readonly ready = new Gauge('imgverify_ready', '1 when a valid policy set is loaded and the server can decide.');
  readonly trustRootExpiry = new Gauge(
    'imgverify_trust_root_expiry_timestamp_seconds',
    'When the TUF metadata of a trust root expires (Unix time): TrustRoot documents by name, the default trust as "default".',
  );
  readonly trustRootLastRefresh = new Gauge(
    'imgverify_trust_root_last_refresh_timestamp_seconds',
    'When a trust root was last loaded or updated from its source (Unix time).',
  );
  readonly trustRootRefreshes = new Counter(
    'imgverify_trust_root_refreshes_total',
    'Trust root refresh attempts, by result (refreshed, kept: the mirror failed and the cache is still valid, failed).',
  );
  readonly kubernetesSynced = new Gauge(
    'imgverify_kubernetes_synced',
    'Cluster mode: 1 while a resource is listed and watched, 0 while it cannot be read (the webhook is then not ready).',
  );
  readonly policyObjects = new Gauge(
    'imgverify_policy_objects',
    'Cluster mode: ClusterImagePolicy and TrustRoot objects, by kind and whether they load (ready).',
  );
  readonly statusWrites = new Counter(
    'imgverify_status_writes_total',
    'Cluster mode: status updates of policy objects, by result (written, unchanged, conflict, gone, failed).',
  );
  readonly unhandledRejections = new Counter(
    'imgverify_webhook_unhandled_rejections_total',
    'Promise rejections nobody handled (a bug): logged and counted instead of ending the process.',
  );
  readonly admissionsInFlight = new Gauge('imgverify_admissions_in_flight', 'Admission requests being decided.', 'sum');
  readonly admissionBodyBytes = new Gauge('imgverify_admission_body_bytes_in_flight', 'Body bytes reserved by the admission requests being decided.', 'sum');
  readonly admissionsQueued = new Gauge(
    'imgverify_admissions_queued',
    'Admission requests waiting for room (refused with 429 when it does not come in time).',
    'sum',
  );
  readonly auditPods = new Gauge(
    'imgverify_audit_pods',
    'Periodic audit (--audit-interval): running Pods of the last run, by verdict (allowed, warned, denied).',
  );
  readonly auditImages = new Gauge('imgverify_audit_images', 'Periodic audit: distinct images verified in the last run, by their worst verdict.');
  readonly auditLastRun = new Gauge('imgverify_audit_last_run_timestamp_seconds', 'Periodic audit: when the last run finished (Unix time).');
  readonly auditDuration = new Gauge('imgverify_audit_last_run_duration_seconds', 'Periodic audit: how long the last run took.');
  readonly auditRuns = new Counter('imgverify_audit_runs_total', 'Periodic audit: runs, by result (completed, failed).');
  readonly auditReportWrites = new Counter(
    'imgverify_audit_report_writes_total',
    'Periodic audit: OpenReports Reports, by result (written, unchanged, failed).',
  );
  readonly tagLookups = new Counter(
    'imgverify_tag_lookups_total',
    'Tags of admitted images looked up: hit (a background resolution, no registry request) or miss (resolved for the admission).',
  );
  readonly tagRefreshes = new Counter(
    'imgverify_tag_refreshes_total',
    'Background tag resolutions, by result (unchanged, moved, dropped: gone or no longer readable, failed: kept until it expires).',
  );
  readonly tagCacheEntries = new Gauge('imgverify_tag_cache_entries', 'Tags kept resolved in the background (by every worker).', 'sum');
  private readonly all: readonly Metric[] = [
    this.requests,
    this.duration,
    this.verdicts,
    this.cacheHits,
    this.cacheMisses,
    this.policyReloads,
    this.tlsReloads,
    this.policies,
    this.cacheEntries,
    this.ready,
    this.trustRootExpiry,
    this.trustRootLastRefresh,
    this.trustRootRefreshes,
    this.kubernetesSynced,
    this.policyObjects,
    this.statusWrites,
    this.unhandledRejections,
    this.admissionsInFlight,
    this.admissionBodyBytes,
    this.admissionsQueued,
    this.auditPods,
    this.auditImages,
    this.auditLastRun,
    this.auditDuration,
    this.auditRuns,
    this.auditReportWrites,
    this.tagLookups,
    this.tagRefreshes,
    this.tagCacheEntries,
  ];

  constructor() {
    // Unlabelled series exist from the start, so a scrape always shows them (at 0).
    this.cacheHits.inc({}, 0);
    this.cacheMisses.inc({}, 0);
    this.policies.set(0);
    this.cacheEntries.set(0);
    this.ready.set(0);
    this.unhandledRejections.inc({}, 0);
    this.admissionsInFlight.set(0);
    this.admissionBodyBytes.set(0);
    this.admissionsQueued.set(0);
    this.tagCacheEntries.set(0);
  }

  /** The exposition text (`Content-Type: text/plain; version=0.0.4`). */
  render(): string {
    return this.all.map((m) => m.render()).join('');
  }

  /** Every metric's series, as data (a worker's, for its primary to add up). */
  snapshot(): Record<string, MetricSnapshot> {
    return Object.fromEntries(this.all.map((m) => [m.name, m.snapshot()]));
  }

  /**
   * The metrics of a primary and its workers as one exposition: counters and histograms added
   * up, gauges by their aggregation (`primary`: the primary's value alone).
   */
  static aggregate(primary: Record<string, MetricSnapshot>, workers: ReadonlyArray<Record<string, MetricSnapshot>>): WebhookMetrics {
    const total = new WebhookMetrics();
    const add = (snapshot: Record<string, MetricSnapshot>, fromPrimary: boolean): void => {
      for (const metric of total.all) if (Object.hasOwn(snapshot, metric.name)) metric.merge(snapshot[metric.name]!, fromPrimary);
    };
    add(primary, true);
    for (const snapshot of workers) add(snapshot, false);
    return total;
  }
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
