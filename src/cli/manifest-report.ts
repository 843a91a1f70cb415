/**
 * `imgverify policy test -f`: what each object of the manifests would get from the webhook, as
 * a report (one entry per object, one per image in it) and its text and JSON renderings. SARIF
 * (./sarif) and JUnit (./junit) render the same report.
 */
import type { ContainerField, ImageDecision, ManifestError, SourcePosition, Verdict } from '../webhook';

export interface ImageReport {
  readonly image: string;
  /** The container (or image volume) name. */
  readonly container: string;
  readonly field: ContainerField;
  /** JSON pointer of the field in the object. */
  readonly path: string;
  /** Where the `image:` (or `reference:`) field is written. */
  readonly position: SourcePosition;
  readonly decision: ImageDecision;
}

type ObjectVerdict = Verdict | 'ignored';

export interface ObjectReport {
  /** The file as given (`-`: standard input). */
  readonly file: string;
  readonly document: number;
  /** Index in each enclosing List. */
  readonly items: readonly number[];
  readonly position: SourcePosition;
  readonly apiVersion?: string;
  readonly kind?: string;
  /** The namespace it is evaluated in (written, else the default). */
  readonly namespace?: string;
  readonly name: string;
  readonly verdict: ObjectVerdict;
  /** Why it is not examined (verdict `ignored`). */
  readonly ignored?: string;
  /** Why its images cannot be read (it is denied). */
  readonly malformed?: string;
  /** The webhook's denial message. */
  readonly message?: string;
  readonly warnings: readonly string[];
  readonly images: readonly ImageReport[];
}

export interface ManifestReport {
  readonly policySetVersion: string;
  readonly noMatch: string;
  /** Where objects without metadata.namespace are evaluated. */
  readonly defaultNamespace: string;
  readonly objects: readonly ObjectReport[];
  /** Documents that could not be read. */
  readonly errors: readonly ManifestError[];
}

export interface ReportCounts {
  readonly objects: number;
  readonly examined: number;
  readonly ignored: number;
  readonly images: number;
  readonly allowed: number;
  readonly warned: number;
  readonly denied: number;
  readonly deniedObjects: number;
  readonly errors: number;
}

export function reportCounts(report: ManifestReport): ReportCounts {
  const images = report.objects.flatMap((o) => o.images);
  const count = (v: Verdict): number => images.filter((i) => i.decision.verdict === v).length;
  return {
    objects: report.objects.length,
    examined: report.objects.filter((o) => o.verdict !== 'ignored').length,
    ignored: report.objects.filter((o) => o.verdict === 'ignored').length,
    images: images.length,
    allowed: count('allowed'),
    warned: count('warned'),
    denied: count('denied'),
    deniedObjects: report.objects.filter((o) => o.verdict === 'denied').length,
    errors: report.errors.length,
  };
}

/** `Deployment shop/web` */
export function objectTitle(o: Pick<ObjectReport, 'kind' | 'namespace' | 'name'>): string {
  return `${o.kind ?? '(no kind)'} ${o.namespace !== undefined ? `${o.namespace}/` : ''}${o.name}`;
}

/** `deploy.yaml:12` (`(stdin)` for standard input). */
export function fileLine(file: string, line: number): string {
  return `${file === '-' ? '(stdin)' : file}:${line}`;
}

const FIELD_WORDS: Readonly<Record<ContainerField, string>> = {
  initContainers: 'init container',
  containers: 'container',
  ephemeralContainers: 'ephemeral container',
  volumes: 'image volume',
};

export function whereInObject(image: Pick<ImageReport, 'field' | 'container'>): string {
  return `${FIELD_WORDS[image.field]} ${JSON.stringify(image.container)}`;
}

/**
 * Text: per examined object its place, kind/namespace/name and verdict, then each image with its
 * decision (`imageText`, the IMAGE mode's rendering); ignored objects only with `verbose`.
 */
export function manifestReportText(report: ManifestReport, imageText: (decision: ImageDecision) => string, verbose: boolean): string {
  const out: string[] = [];
  for (const e of report.errors) out.push(`${fileLine(e.file, e.position?.line ?? 0)}: ERROR document ${e.document}: ${e.message}`);
  for (const o of report.objects) {
    const head = `${fileLine(o.file, o.position.line)}  ${objectTitle(o)}`;
    if (o.verdict === 'ignored') {
      if (verbose) out.push(`${head}: ignored (${o.ignored ?? 'not examined'})`);
      continue;
    }
    if (o.malformed !== undefined) {
      out.push(`${head}: DENIED: ${o.malformed}`);
      continue;
    }
    out.push(`${head}: ${o.verdict.toUpperCase()}${o.images.length === 0 ? ' (no images)' : ''}`);
    for (const i of o.images) {
      out.push(`  ${fileLine(o.file, i.position.line)}:${i.position.column} ${whereInObject(i)}`);
      out.push(
        imageText(i.decision)
          .split('\n')
          .map((line) => `    ${line}`)
          .join('\n'),
      );
    }
  }
  const c = reportCounts(report);
  out.push(
    `${c.objects} object${c.objects === 1 ? '' : 's'} (${c.examined} examined, ${c.ignored} ignored${verbose || c.ignored === 0 ? '' : ': -v lists them'}), ` +
      `${c.images} image${c.images === 1 ? '' : 's'}: ${c.allowed} allowed, ${c.warned} warned, ${c.denied} denied` +
      `${c.errors > 0 ? `; ${c.errors} document${c.errors === 1 ? '' : 's'} could not be read` : ''}`,
  );
  return `${out.join('\n')}\n`;
}

export function manifestReportJSON(report: ManifestReport): string {
  return `${JSON.stringify({ ...report, summary: reportCounts(report) }, null, 2)}\n`;
}
