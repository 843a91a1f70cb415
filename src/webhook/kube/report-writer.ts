/**
 * Writes an audit's OpenReports `Report` objects (../reports): each created, or replaced when
 * it exists (conditional on the resourceVersion read; a 409 reads it again, a few times). A
 * namespace of the audit's scope that had an imgverify Report and has no Pod left gets an empty
 * one (its Pods are gone, so are their results). A Report that says the same is not written
 * again (several webhook replicas auditing the same cluster write once between them).
 *
 * Only Reports named `imgverify-images` that carry imgverify's labels are ever changed: a Report
 * of another tool with that name is left alone (and said so).
 */
import { errorMessage } from '../../util/describe';
import { isRecord } from '../../util/shape';
import type { Logger } from '../log';
import { REPORT_LABELS, REPORT_NAME, type ReportObject } from '../reports';
import { KubeApiError, type KubeApi } from './api';
import { REPORTS, type KubeObject } from './resources';

export interface ReportWriteResult {
  readonly written: number;
  readonly unchanged: number;
  readonly failed: ReadonlyArray<{ readonly namespace: string; readonly error: string }>;
}

/** The API calls the writer makes (tests may count them). */
export type ReportApi = Pick<KubeApi, 'get' | 'create' | 'replace' | 'list'>;

function ours(object: KubeObject): boolean {
  const labels = object.metadata['labels'];
  return isRecord(labels) && Object.entries(REPORT_LABELS).every(([k, v]) => labels[k] === v);
}

/**
 * Whether the stored Report already says what `report` says, the results' timestamps aside (a
 * result found again keeps the time it was first found; nothing is rewritten for a clock).
 */
function same(stored: KubeObject, report: ReportObject): boolean {
  const results = (o: Record<string, unknown>): unknown[] =>
    Array.isArray(o['results']) ? (o['results'] as unknown[]).map((r) => (isRecord(r) ? { ...r, timestamp: undefined } : r)) : [];
  const strip = (o: Record<string, unknown>): string => JSON.stringify({ source: o['source'], summary: o['summary'], results: results(o) });
  const annotations = (o: unknown): unknown => (isRecord(o) ? o['annotations'] : undefined);
  return (
    strip(stored) === strip(report as unknown as Record<string, unknown>) &&
    JSON.stringify(annotations(stored.metadata) ?? {}) === JSON.stringify(report.metadata.annotations ?? {})
  );
}

async function writeOne(api: ReportApi, report: ReportObject, log: Logger): Promise<'written' | 'unchanged'> {
  const namespace = report.metadata.namespace;
  for (let attempt = 0; attempt < 3; attempt++) {
    const stored = await api.get(REPORTS, REPORT_NAME, namespace);
    if (stored === undefined) {
      try {
        await api.create(REPORTS, namespace, report as unknown as Record<string, unknown>);
        return 'written';
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 409) continue; // created meanwhile: read it
        throw err;
      }
    }
    if (!ours(stored)) throw new Error(`a Report ${namespace}/${REPORT_NAME} exists without imgverify's labels: left alone`);
    if (same(stored, report)) return 'unchanged';
    const labels = isRecord(stored.metadata['labels']) ? stored.metadata['labels'] : {};
    const body = {
      ...report,
      metadata: {
        ...stored.metadata,
        labels: { ...labels, ...report.metadata.labels },
        annotations: { ...(isRecord(stored.metadata['annotations']) ? stored.metadata['annotations'] : {}), ...(report.metadata.annotations ?? {}) },
      },
    } as unknown as KubeObject;
    // An annotation of ours that no longer applies (no result left out now) goes.
    if (report.metadata.annotations === undefined) {
      const a = body.metadata['annotations'] as Record<string, unknown>;
      for (const key of Object.keys(a)) if (key.startsWith('imgverify.dev/')) delete a[key];
    }
    try {
      await api.replace(REPORTS, body);
      return 'written';
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 404)) {
        log('debug', 'Report changed while being written; reading it again', { report: `${namespace}/${REPORT_NAME}` });
        continue;
      }
      throw err;
    }
  }
  throw new Error(`the Report ${namespace}/${REPORT_NAME} kept changing while being written (3 attempts)`);
}

/**
 * Writes `reports`; within `scope` (one namespace, or every namespace when undefined), an
 * imgverify Report of a namespace `reports` has none for is emptied.
 */
export async function writeReports(
  api: ReportApi,
  reports: readonly ReportObject[],
  scope: string | undefined,
  log: Logger,
  emptyReport: (namespace: string) => ReportObject,
): Promise<ReportWriteResult> {
  const wanted = new Map(reports.map((r) => [r.metadata.namespace, r]));
  try {
    const existing = await api.list(REPORTS, scope);
    for (const stored of existing.items) {
      const ns = stored.metadata.namespace;
      if (ns !== undefined && stored.metadata.name === REPORT_NAME && ours(stored) && !wanted.has(ns)) wanted.set(ns, emptyReport(ns));
    }
  } catch (err) {
    log('warn', 'cannot list existing Reports; Reports of namespaces without Pods are left as they are', { error: errorMessage(err) });
  }
  let written = 0;
  let unchanged = 0;
  const failed: Array<{ namespace: string; error: string }> = [];
  for (const report of wanted.values()) {
    try {
      if ((await writeOne(api, report, log)) === 'written') written++;
      else unchanged++;
    } catch (err) {
      failed.push({ namespace: report.metadata.namespace, error: errorMessage(err) });
      log('warn', 'cannot write the Report', { report: `${report.metadata.namespace}/${REPORT_NAME}`, error: errorMessage(err) });
    }
  }
  return { written, unchanged, failed };
}
