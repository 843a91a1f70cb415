/**
 * `policy test -f --output sarif`: the manifest report as a SARIF 2.1.0 log (OASIS Static
 * Analysis Results Interchange Format), the format GitHub code scanning ingests
 * (`github/codeql-action/upload-sarif`). One result per image the webhook would deny (level
 * `error`) or warn about (`warning`), per object whose images cannot be read, and per document
 * that does not parse; each located at the file, line and column the YAML parser gave for its
 * field. Allowed images are not results (code scanning lists problems).
 *
 * Artifact URIs are relative references to the working directory (CI runs from the repository's
 * root, which is what code scanning resolves them against); a file outside it gets a `file:` URI;
 * standard input gets `--stdin-filename`, else `stdin`.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SourcePosition } from '../webhook';
import { objectTitle, whereInObject, type ImageReport, type ManifestReport, type ObjectReport } from './manifest-report';

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
const SARIF_VERSION = '2.1.0';

/** The rules a result can break, in this order (results name them by id and index). */
const SARIF_RULES = [
  {
    id: 'imgverify/image-denied',
    name: 'ImageDenied',
    shortDescription: { text: 'An image the admission webhook would deny' },
    fullDescription: {
      text: 'A container or image volume of this object uses an image that does not satisfy the ClusterImagePolicies (and ImagePolicies) that apply to it: the imgverify webhook would not admit the object.',
    },
    defaultConfiguration: { level: 'error' },
  },
  {
    id: 'imgverify/image-warned',
    name: 'ImageWarned',
    shortDescription: { text: 'An image the admission webhook would admit with a warning' },
    fullDescription: { text: 'An image fails a policy in warn mode, or no policy matches it and the no-match setting is warn.' },
    defaultConfiguration: { level: 'warning' },
  },
  {
    id: 'imgverify/object-malformed',
    name: 'ObjectMalformed',
    shortDescription: { text: 'An object whose images cannot be read' },
    fullDescription: { text: 'A field on the way to the images has the wrong type; the webhook denies such an object.' },
    defaultConfiguration: { level: 'error' },
  },
  {
    id: 'imgverify/manifest-invalid',
    name: 'ManifestInvalid',
    shortDescription: { text: 'A manifest document that cannot be read' },
    fullDescription: { text: 'The document is not valid YAML (or has a duplicate key, which kubectl refuses), or is not a Kubernetes object.' },
    defaultConfiguration: { level: 'error' },
  },
] as const;

type RuleId = (typeof SARIF_RULES)[number]['id'];

/** A relative or `file:` URI reference for a file as given on the command line. */
export function artifactUri(file: string, cwd: string, stdinName: string | undefined): string {
  const path = file === '-' ? (stdinName ?? 'stdin') : file;
  const relativePath = isAbsolute(path) ? relative(cwd, path) : path;
  if (isAbsolute(relativePath) || (isAbsolute(path) && relativePath.startsWith('..'))) return pathToFileURL(path).href;
  return relativePath.split(sep).join('/').split('/').map(encodeURIComponent).join('/');
}

function region(p: SourcePosition): Record<string, number> {
  return { startLine: p.line, startColumn: p.column, endLine: p.endLine, endColumn: p.endColumn };
}

function fingerprint(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export interface SarifOptions {
  readonly version: string;
  readonly cwd: string;
  readonly stdinName?: string;
}

/** The SARIF log of a manifest report. */
export function manifestReportSarif(report: ManifestReport, options: SarifOptions): Record<string, unknown> {
  const results: Record<string, unknown>[] = [];
  const result = (
    ruleId: RuleId,
    file: string,
    position: SourcePosition,
    text: string,
    extra: { logical?: string; key: readonly string[]; properties?: Record<string, unknown> },
  ): void => {
    const ruleIndex = SARIF_RULES.findIndex((r) => r.id === ruleId);
    results.push({
      ruleId,
      ruleIndex,
      level: SARIF_RULES[ruleIndex]!.defaultConfiguration.level,
      message: { text },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: artifactUri(file, options.cwd, options.stdinName), ...(file === '-' ? { description: { text: 'standard input' } } : {}) },
            region: region(position),
          },
          ...(extra.logical !== undefined ? { logicalLocations: [{ fullyQualifiedName: extra.logical, kind: 'object' }] } : {}),
        },
      ],
      // Stable across edits that move lines: the object and the image, not the position.
      partialFingerprints: { 'imgverify/v1': fingerprint([ruleId, ...extra.key]) },
      ...(extra.properties ? { properties: extra.properties } : {}),
    });
  };
  for (const e of report.errors) {
    result('imgverify/manifest-invalid', e.file, e.position ?? { line: 1, column: 1, endLine: 1, endColumn: 1 }, `document ${e.document}: ${e.message}`, {
      key: [e.file, String(e.document)],
    });
  }
  const logicalName = (o: ObjectReport, i?: ImageReport): string => `${o.namespace ?? ''}/${o.kind ?? ''}/${o.name}${i ? `/${i.field}/${i.container}` : ''}`;
  for (const o of report.objects) {
    if (o.malformed !== undefined) {
      result('imgverify/object-malformed', o.file, o.position, `${objectTitle(o)}: ${o.malformed}`, { logical: logicalName(o), key: [o.file, logicalName(o)] });
      continue;
    }
    for (const i of o.images) {
      const { verdict } = i.decision;
      if (verdict === 'allowed') continue;
      const failed = i.decision.policies.filter((p) => !p.passed).map((p) => p.policy);
      result(
        verdict === 'denied' ? 'imgverify/image-denied' : 'imgverify/image-warned',
        o.file,
        i.position,
        `${objectTitle(o)}, ${whereInObject(i)}: ${i.decision.reason ?? i.image}`,
        {
          logical: logicalName(o, i),
          key: [o.file, logicalName(o, i), i.image],
          properties: {
            image: i.image,
            ...(i.decision.digest !== undefined ? { digest: i.decision.digest } : {}),
            verdict,
            matched: i.decision.matched,
            ...(failed.length > 0 ? { policies: failed } : {}),
          },
        },
      );
    }
  }
  return {
    $schema: SARIF_SCHEMA,
    version: SARIF_VERSION,
    runs: [
      {
        tool: {
          driver: {
            name: 'imgverify',
            semanticVersion: options.version,
            version: options.version,
            rules: SARIF_RULES,
          },
        },
        invocations: [{ executionSuccessful: true }],
        columnKind: 'utf16CodeUnits',
        results,
        properties: { policySetVersion: report.policySetVersion, noMatch: report.noMatch, defaultNamespace: report.defaultNamespace },
      },
    ],
  };
}
