/**
 * What every custom-resource document the webhook reads shares, whatever its kind
 * (ClusterImagePolicy: ./cluster-image-policy, TrustRoot: ./trust-root) and wherever it comes
 * from: where it came from (`PolicyLocation`), the `Checker` that records every problem with its
 * field path and goes on (so a file reports all of them), Kubernetes' object-meta rules, and the
 * two ways documents arrive:
 *
 *   readDocumentStream   a policy file's text: YAML documents separated by `---`, or one JSON
 *                        document; each becomes a plain object with its location
 *   parseDocument        one plain object at a time, dispatched on `kind` to the parsers the
 *                        caller accepts (the file reader's loop, or a Kubernetes informer handing
 *                        over objects it watched)
 *
 * The kind parsers see only `(Checker, object, apiVersion)`: they never know whether the object
 * came from a file or from the cluster.
 */
import { parseAllDocuments } from 'yaml';
import { ImgverifyError } from '../index';
import { describeValue, errorMessage } from '../util/describe';
import { isRecord, joinPath, ShapeChecker, type JsonObject } from '../util/shape';

/** Where a policy came from: file name, 0-based document index in the YAML stream, and the 1-based line it starts on. */
export interface PolicyLocation {
  readonly file: string;
  readonly document: number;
  readonly line?: number;
}

/** A problem that does not stop a policy from loading. */
export interface PolicyWarning extends PolicyLocation {
  /** Field path inside the document, e.g. `spec.images[0].glob`. */
  readonly path: string;
  readonly message: string;
}

export type Json = JsonObject;

/** YAML aliases one document may expand (an alias bomb is refused, not expanded). */
const MAX_ALIAS_COUNT = 100;

// --- Recording problems ------------------------------------------------------------------------

/**
 * Reads a Secret a document names (`key.secretRef`, `ca-cert.secretRef`): its one data value,
 * or why there is none. Only the cluster source has one (the webhook reads the Secrets of its
 * namespace); without it, a `secretRef` is refused. `missing`: the Secret does not exist.
 * `deferred` (apply-time validation only: a Secret that may be created after the policy)
 * records no error and yields no model, so a document parsed with it is never enforced.
 */
export type SecretLookup = (ref: {
  readonly name: string;
  readonly namespace?: string;
}) => { readonly value: string } | { readonly error: string; readonly missing?: boolean } | { readonly deferred: true };

/** What a source lends the parsers besides the document. */
export interface ParseContext {
  readonly secrets?: SecretLookup;
}

/**
 * Collects problems for one document; every check records and continues, so a file reports all
 * of them. Not marked internal: the published declarations of this module (which the entry's
 * types reach) name it, and stripping it broke them (test/integration/package-consumer.test.ts).
 */
export class Checker extends ShapeChecker {
  readonly errors: ImgverifyError[] = [];
  readonly warnings: PolicyWarning[] = [];
  protected override readonly objectWord = 'a mapping';
  /** A Secret was not read (SecretLookup's `deferred`): the document yields no model. */
  deferred = false;
  /** Set by a kind whose documents may not read Secrets at all (`secretRef` is then refused with this reason). */
  secretsRefused: string | undefined;

  constructor(
    readonly location: PolicyLocation,
    readonly context: ParseContext = {},
  ) {
    super();
  }

  error(path: string, message: string): void {
    this.errors.push(policyError(this.location, path, message));
  }

  warn(path: string, message: string): void {
    this.warnings.push({ ...this.location, path, message });
  }

  protected problem(path: string, message: string): undefined {
    this.error(path, message);
    return undefined;
  }

  protected describe(value: unknown): string {
    return describeYamlValue(value);
  }

  /** A YAML timestamp decodes to a Date: not a mapping. */
  protected override isObject(value: unknown): value is Json {
    return isRecord(value) && !(value instanceof Date);
  }

  /** A string field; null and absent are undefined, and so is "" (Go's omitempty zero value). */
  string(obj: Json, key: string, path: string): string | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      this.error(`${path}.${key}`, `expected a string, got ${describeYamlValue(value)}`);
      return undefined;
    }
    return value === '' ? undefined : value;
  }

  /** Records an "unsupported" error when the field is present (and not null). */
  unsupported(obj: Json, key: string, path: string, why: string): boolean {
    if (obj[key] === undefined || obj[key] === null) return false;
    this.error(joinPath(path, key), `unsupported field: ${why}`);
    return true;
  }
}

export function describeLocation({ file, document, line }: PolicyLocation): string {
  return `${file}: document ${document}${line !== undefined ? ` (line ${line})` : ''}`;
}

export function policyError(location: PolicyLocation, path: string, message: string, cause?: unknown): ImgverifyError {
  const { file, document, line } = location;
  return new ImgverifyError('INVALID_POLICY', `${describeLocation(location)}${path ? `: ${path}` : ''}: ${message}`, {
    ...(cause !== undefined ? { cause } : {}),
    details: { file, document, ...(line !== undefined ? { line } : {}), path },
  });
}

/** A YAML value's kind in YAML's words; scalars as src/util/describe.ts shows them. */
export function describeYamlValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a timestamp';
  return typeof value === 'object' && value !== null ? 'a mapping' : describeValue(value);
}

export function present(obj: Json, key: string): boolean {
  return obj[key] !== undefined && obj[key] !== null;
}

export function isAbsoluteURL(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

// --- Object metadata ---------------------------------------------------------------------------

export const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** Standard Kubernetes ObjectMeta fields: accepted and ignored (they do not affect admission). */
const OBJECT_META_FIELDS = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];

/** The top-level fields of a custom resource: anything else is an unknown field. */
export const OBJECT_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/**
 * `metadata` of an object: only ObjectMeta fields, and a `name` that is a lower-case RFC 1123
 * subdomain (as Kubernetes requires of these kinds). Returns the name, or undefined after
 * recording why there is none.
 */
export function objectName(c: Checker, doc: Json): string | undefined {
  const metadata = present(doc, 'metadata') ? c.object(doc['metadata'], 'metadata') : undefined;
  if (metadata) c.onlyKnown(metadata, 'metadata', OBJECT_META_FIELDS);
  const name = metadata ? c.string(metadata, 'name', 'metadata') : undefined;
  if (name === undefined) c.error('metadata.name', 'missing field: metadata.name is required');
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name))
    c.error('metadata.name', `invalid name ${JSON.stringify(name)}: must be a lower-case RFC 1123 subdomain`);
  return name;
}

/** A namespace name: a lower-case RFC 1123 label (at most 63 characters). */
const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * `metadata.namespace` of a namespaced object: required (a file has no namespace to default to:
 * a policy that silently landed in `default` would govern the wrong namespace) and a valid
 * namespace name. Returns it, or undefined after recording why there is none.
 */
export function objectNamespace(c: Checker, doc: Json): string | undefined {
  const metadata = present(doc, 'metadata') ? c.object(doc['metadata'], 'metadata') : undefined;
  const namespace = metadata ? c.string(metadata, 'namespace', 'metadata') : undefined;
  if (namespace === undefined)
    c.error('metadata.namespace', 'missing field: metadata.namespace is required (the namespace whose objects the policy applies to)');
  else if (!DNS_LABEL.test(namespace)) c.error('metadata.namespace', `invalid namespace ${JSON.stringify(namespace)}: must be a lower-case RFC 1123 label`);
  return namespace;
}

// --- One object --------------------------------------------------------------------------------

/** A parser for one kind of document. */
export interface DocumentKind<T> {
  /** The `kind` it reads. */
  readonly kind: string;
  /**
   * Checks and reads a document of this kind, recording every problem on `c`; returns the model
   * only when there is none. `apiVersion` is the document's, as read (undefined when absent or
   * not a string); the parser checks it.
   */
  parse(c: Checker, doc: Json, apiVersion: string | undefined): T | undefined;
}

export interface DocumentResult<T> {
  /** The model, when the document has no error. */
  readonly document?: T;
  readonly errors: ImgverifyError[];
  readonly warnings: PolicyWarning[];
}

/**
 * Validates one decoded document (a plain object from YAML, JSON or the Kubernetes API) at
 * `location`, with the parser of its `kind` among `kinds`. Never throws.
 */
export function parseDocument<T>(value: unknown, location: PolicyLocation, kinds: readonly DocumentKind<T>[], context: ParseContext = {}): DocumentResult<T> {
  const c = new Checker(
    Object.freeze({ file: location.file, document: location.document, ...(location.line !== undefined ? { line: location.line } : {}) }),
    context,
  );
  const document = dispatch(c, value, kinds);
  return { ...(document !== undefined && !c.deferred ? { document } : {}), errors: c.errors, warnings: c.warnings };
}

function dispatch<T>(c: Checker, value: unknown, kinds: readonly DocumentKind<T>[]): T | undefined {
  const doc = c.object(value, '');
  if (!doc) return undefined;
  const apiVersion = c.string(doc, 'apiVersion', '');
  const kind = c.string(doc, 'kind', '');
  const parser = kinds.find((k) => k.kind === kind);
  if (!parser) {
    const names = kinds.map((k) => k.kind);
    const accepted = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}` : (names[0] ?? 'no');
    c.error('kind', `unsupported kind ${JSON.stringify(kind ?? null)}: only ${accepted} documents are accepted`);
    return undefined;
  }
  return parser.parse(c, doc, apiVersion);
}

// --- A file's text -----------------------------------------------------------------------------

export interface DocumentStream {
  /** The non-empty documents, decoded, each with where it starts. */
  readonly values: ReadonlyArray<{ readonly location: PolicyLocation; readonly value: unknown }>;
  /** Documents that are not valid YAML / JSON. */
  readonly errors: ImgverifyError[];
  readonly warnings: PolicyWarning[];
}

/**
 * The documents of a file's text: YAML with one or more `---`-separated documents, or JSON
 * (one document) when `file` ends in `.json`. Empty documents are skipped (their index is
 * still counted). YAML is read as Kubernetes reads it (YAML 1.1), duplicate keys are errors,
 * and alias expansion is bounded.
 */
export function readDocumentStream(text: string, file: string): DocumentStream {
  const errors: ImgverifyError[] = [];
  const warnings: PolicyWarning[] = [];
  const values: Array<{ location: PolicyLocation; value: unknown }> = [];
  const fail = (location: PolicyLocation, message: string, cause?: unknown): void => {
    errors.push(policyError(location, '', message, cause));
  };

  if (file.toLowerCase().endsWith('.json')) {
    try {
      values.push({ location: { file, document: 0 }, value: JSON.parse(text) as unknown });
    } catch (err) {
      fail({ file, document: 0 }, `not valid JSON: ${errorMessage(err)}`, err);
    }
    return { values, errors, warnings };
  }
  // YAML 1.1, as Kubernetes' own YAML decoder reads it; duplicate keys are errors.
  const docs = parseAllDocuments(text, { version: '1.1', uniqueKeys: true, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [];
  const lineStarts = lineOffsets(text);
  list.forEach((doc, document) => {
    const offset = doc.contents?.range?.[0] ?? doc.range?.[0] ?? 0;
    const location: PolicyLocation = { file, document, line: lineOf(lineStarts, offset) };
    if (doc.errors.length > 0) {
      fail(location, `not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`, doc.errors[0]);
      return;
    }
    for (const w of doc.warnings) warnings.push({ ...location, path: '', message: `YAML: ${w.message}` });
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      fail(location, `not valid YAML: ${errorMessage(err)}`, err);
      return;
    }
    if (value === null || value === undefined) return; // an empty document (comments, trailing ---)
    values.push({ location, value });
  });
  return { values, errors, warnings };
}

function lineOffsets(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line of a character offset. */
function lineOf(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}
