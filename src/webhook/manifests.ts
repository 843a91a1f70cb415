/**
 * Kubernetes manifests as CI has them (`kubectl apply -f`, `kustomize build`, `helm template`):
 * YAML streams of `---`-separated documents (JSON is YAML too), `List` kinds flattened, each
 * object with where it is in its file, so that a finding can point at the exact `image:` (or
 * image volume `reference:`) field: positions come from the YAML parser's nodes (`yaml`'s
 * document tree and its `LineCounter`), never from searching the text.
 *
 * Read as kubectl reads them: YAML 1.1 (merge keys `<<` included), a duplicate key is an error
 * (kubectl refuses it; taking either value would check one image while kubectl applies
 * another), alias expansion bounded. A document that does not parse is an error of the stream;
 * the objects of the other documents are still read.
 *
 * `manifestWorkload` turns an object into what ./workload evaluates (the resource the API
 * server would admit it as, its namespace), or says why it is not examined.
 */
import { Composer, isMap, isPair, isScalar, isSeq, Parser, type Document, type Node, type Pair } from 'yaml';

type ParsedDocument = Document.Parsed;
import { isRecord, own } from '../util/shape';
import { describeValue, errorMessage } from '../util/describe';
import { workloadResource, type GroupVersionKind } from './admission';
import type { ObjectCredentialSource } from './pull-secrets';
import type { Workload } from './workload';

/** A place in a manifest file: 1-based lines and columns (UTF-16 code units, as SARIF counts by default). */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

/** One object of a manifest stream. */
export interface ManifestObject {
  /** The file name as given (`-` for standard input). */
  readonly file: string;
  /** 0-based index of its YAML document in the file. */
  readonly document: number;
  /** Its index in each enclosing `List`'s `items` (empty for a top-level object). */
  readonly items: readonly number[];
  /** Where the object starts. */
  readonly position: SourcePosition;
  /** The object, decoded. */
  readonly object: Record<string, unknown>;
  /** The field at a JSON pointer relative to the object (`/spec/containers/0/image`): its key to its value; else the nearest enclosing node. */
  locate(pointer: string): SourcePosition;
}

export interface ManifestError {
  readonly file: string;
  readonly document: number;
  readonly position?: SourcePosition;
  readonly message: string;
}

export interface ManifestStream {
  readonly objects: readonly ManifestObject[];
  /** Documents that are not valid YAML, or not objects. */
  readonly errors: readonly ManifestError[];
}

/** Aliases one document may expand (an alias bomb is refused, not expanded). */
const MAX_ALIAS_COUNT = 1000;
/** `List`s inside `List`s, at most. */
const MAX_LIST_DEPTH = 8;

/** RFC 6901 reference tokens of a JSON pointer. */
function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The pair of a mapping node whose key is `key` (a plain scalar key), if written there (not through a merge key). */
function pairOf(map: Node, key: string): Pair | undefined {
  if (!isMap(map)) return undefined;
  return map.items.find((p): p is Pair => isPair(p) && isScalar(p.key) && p.key.value === key);
}

/** Documents one stream may hold (each costs the parser a document tree; beyond this it is refused, not parsed on). */
export const MAX_MANIFEST_DOCUMENTS = 20_000;

/** 1-based line and column of UTF-16 offsets of `text`, lines ending at \n (as the parser's LineCounter counts them). */
function lineIndex(text: string): (offset: number) => { line: number; col: number } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, col: offset - starts[low]! + 1 };
  };
}

/**
 * A JSON stream as kubectl reads one (its YAMLOrJSONDecoder: a stream whose first character
 * other than white space is `{` and whose first value is followed by another is decoded as JSON
 * values one after another, not separated by `---`): the offsets of each top-level value.
 * Undefined for anything else, read as YAML (a single JSON object is YAML). Text between values
 * that is not white space is a segment of its own (it will not be an object, and says so).
 */
function jsonSegments(text: string): Array<{ start: number; end: number }> | undefined {
  const first = text.search(/\S/);
  if (first === -1 || text[first] !== '{') return undefined;
  const segments: Array<{ start: number; end: number }> = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = first; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (depth === 0 && start === -1) {
      if (/\s/.test(c)) continue;
      start = i;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth <= 0) {
        segments.push({ start, end: i + 1 });
        depth = 0;
        start = -1;
      }
    } else if (depth === 0 && text[i + 1] === '{') {
      // Not JSON between values: up to the next value.
      segments.push({ start, end: i + 1 });
      start = -1;
    }
  }
  if (start !== -1) segments.push({ start, end: text.length });
  // A stream only when a second value follows the first: one JSON object followed by `---` and
  // YAML is YAML (kubectl flips to YAML then, kubernetes#130666), as is a first value that does
  // not end.
  return segments.length >= 2 && text[segments[1]!.start] === '{' ? segments : undefined;
}

/**
 * Reads a manifest stream. `file` names it in results (`-`: standard input). Never throws:
 * what does not parse is in `errors`. A JSON stream (values one after another, as kubectl takes
 * them) is read value by value. At most MAX_MANIFEST_DOCUMENTS documents are read.
 */
export function readManifests(text: string, file: string): ManifestStream {
  const linePos = lineIndex(text);
  const objects: ManifestObject[] = [];
  const errors: ManifestError[] = [];
  let document = 0;
  for (const segment of jsonSegments(text) ?? [{ start: 0, end: text.length }]) {
    const offset = segment.start;
    const composer = new Composer({ version: '1.1', uniqueKeys: true, merge: true });
    for (const doc of composer.compose(new Parser().parse(offset === 0 && segment.end === text.length ? text : text.slice(segment.start, segment.end)))) {
      if (document >= MAX_MANIFEST_DOCUMENTS) {
        errors.push({ file, document, message: `more than ${MAX_MANIFEST_DOCUMENTS} documents: the rest of the stream is not read` });
        return { objects, errors };
      }
      readDocument(doc, document++, offset);
    }
  }
  return { objects, errors };

  function readDocument(doc: ParsedDocument, document: number, offset: number): void {
    const at = (start: number, end: number): SourcePosition => {
      const from = linePos(offset + start);
      const to = linePos(offset + Math.max(start, end));
      return { line: from.line, column: from.col, endLine: to.line, endColumn: to.col };
    };
    const nodePosition = (node: Node): SourcePosition | undefined => (node.range ? at(node.range[0], node.range[1]) : undefined);

    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const docPosition = at(start, start);
    if (doc.errors.length > 0) {
      errors.push({
        file,
        document,
        position: at(doc.errors[0]!.pos[0], doc.errors[0]!.pos[1]),
        message: `not valid YAML: ${doc.errors.map((e) => e.message.split('\n')[0]).join('; ')}`,
      });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      errors.push({ file, document, position: docPosition, message: `not valid YAML: ${errorMessage(err)}` });
      return;
    }
    if (value === null || value === undefined) return; // an empty document (comments, a trailing ---)

    const visit = (object: unknown, node: Node | undefined, items: readonly number[]): void => {
      const where = (node && nodePosition(node)) ?? docPosition;
      if (!isRecord(object)) {
        errors.push({
          file,
          document,
          position: where,
          message: `expected a Kubernetes object (a mapping), got ${isRecord(object) ? 'a mapping' : Array.isArray(object) ? 'a list' : describeValue(object)}`,
        });
        return;
      }
      const kind = own(object, 'kind');
      const elements = own(object, 'items');
      if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(elements)) {
        if (items.length >= MAX_LIST_DEPTH) {
          errors.push({ file, document, position: where, message: `Lists nested more than ${MAX_LIST_DEPTH} deep` });
          return;
        }
        const seq = node ? pairOf(node, 'items')?.value : undefined;
        elements.forEach((item, i) => {
          const child = seq && isSeq(seq) ? (seq.items[i] as Node | undefined) : undefined;
          visit(item, child ?? node, [...items, i]);
        });
        return;
      }
      const locate = (pointer: string): SourcePosition => {
        // Down the tree as far as the nodes go; the last found is the answer (a value reached
        // through a merge key or an alias is located at what names it).
        let current: Node | undefined = node;
        let found: SourcePosition = where;
        const tokens = pointerTokens(pointer);
        for (let i = 0; i < tokens.length && current; i++) {
          const token = tokens[i]!;
          if (isSeq(current)) {
            const index = /^(?:0|[1-9]\d*)$/.test(token) ? Number(token) : -1;
            current = index >= 0 ? (current.items[index] as Node | undefined) : undefined;
            if (current) found = nodePosition(current) ?? found;
          } else {
            const pair = pairOf(current, token);
            if (!pair) break;
            const key = pair.key as Node;
            const valueNode = pair.value as Node | null;
            if (i === tokens.length - 1 && key.range) {
              // The field: from its key to the end of its value.
              const end = valueNode?.range?.[1] ?? key.range[1];
              found = at(key.range[0], end);
            } else if (valueNode) {
              found = nodePosition(valueNode) ?? found;
            }
            current = valueNode ?? undefined;
          }
        }
        return found;
      };
      objects.push({ file, document, items, position: where, object, locate });
    };
    visit(value, (doc.contents as Node | null) ?? undefined, []);
  }
}

/** The kind of an object from its `apiVersion` and `kind`, if both are strings. */
export function objectKind(object: Record<string, unknown>): GroupVersionKind | undefined {
  const apiVersion = own(object, 'apiVersion');
  const kind = own(object, 'kind');
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || apiVersion === '' || kind === '') return undefined;
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? { group: '', version: apiVersion, kind } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind };
}

/** `metadata.name` (or `generateName`), as far as the object has one. */
export function manifestName(object: Record<string, unknown>): string {
  const metadata = own(object, 'metadata');
  const name = isRecord(metadata) ? own(metadata, 'name') : undefined;
  const generate = isRecord(metadata) ? own(metadata, 'generateName') : undefined;
  return typeof name === 'string' ? name : typeof generate === 'string' ? `${generate}*` : '(unnamed)';
}

/**
 * What ./workload evaluates for a manifest object: the resource the API server would admit it
 * as, and its namespace (`metadata.namespace`, else `defaultNamespace`: where it will be
 * applied, as `kubectl apply -n` would put it). `ignored` says why an object is not examined
 * (a kind without a pod spec: a Service, a ConfigMap).
 */
export function manifestWorkload(object: Record<string, unknown>, defaultNamespace: string): { readonly workload: Workload } | { readonly ignored: string } {
  const kind = objectKind(object);
  if (kind === undefined) return { ignored: 'no apiVersion and kind' };
  const resource = workloadResource(kind);
  if (resource === undefined) return { ignored: `kind ${kind.group ? `${kind.group}/` : ''}${kind.kind} has no pod spec` };
  const metadata = own(object, 'metadata');
  const written = isRecord(metadata) ? own(metadata, 'namespace') : undefined;
  const namespace = typeof written === 'string' && written !== '' ? written : defaultNamespace;
  return { workload: { object, kind, resource, namespace } };
}

/**
 * The Secrets and ServiceAccounts of manifest objects (as `manifestWorkload`, an object without
 * a namespace is in `defaultNamespace`), read as the API server would store them once applied:
 * a Secret's `stringData` written into its `data` (base64), over `data`. With
 * `PullSecretCredentials`, the objects of the manifests are evaluated with the pull secrets
 * (and `signaturePullSecrets`) they would have in the cluster, as far as the manifests hold
 * them: a Secret they do not hold does not exist here. Later objects of a name replace earlier
 * ones, as a later `kubectl apply` would.
 */
export function manifestCredentialSource(objects: readonly ManifestObject[], defaultNamespace: string): ObjectCredentialSource {
  const secrets = new Map<string, Record<string, unknown>>();
  const accounts = new Map<string, Record<string, unknown>>();
  for (const { object } of objects) {
    const kind = objectKind(object);
    if (kind === undefined || kind.group !== '' || kind.version !== 'v1' || (kind.kind !== 'Secret' && kind.kind !== 'ServiceAccount')) continue;
    const metadata = own(object, 'metadata');
    const name = isRecord(metadata) ? own(metadata, 'name') : undefined;
    if (typeof name !== 'string' || name === '') continue;
    const written = isRecord(metadata) ? own(metadata, 'namespace') : undefined;
    const key = `${typeof written === 'string' && written !== '' ? written : defaultNamespace}/${name}`;
    if (kind.kind === 'ServiceAccount') accounts.set(key, object);
    else secrets.set(key, storedSecret(object));
  }
  return {
    getSecret: (namespace, name) => Promise.resolve(secrets.get(`${namespace}/${name}`)),
    getServiceAccount: (namespace, name) => Promise.resolve(accounts.get(`${namespace}/${name}`)),
  };
}

/** A Secret as the API server stores it: `stringData` (strings only) base64-encoded into `data`, over it. */
function storedSecret(secret: Record<string, unknown>): Record<string, unknown> {
  const stringData = own(secret, 'stringData');
  if (!isRecord(stringData)) return secret;
  const data = own(secret, 'data');
  // fromEntries defines each key (a "__proto__" key stays a key).
  const encoded = Object.entries(stringData).flatMap(([key, value]) =>
    typeof value === 'string' ? [[key, Buffer.from(value, 'utf8').toString('base64')] as const] : [],
  );
  return { ...secret, data: Object.fromEntries([...Object.entries(isRecord(data) ? data : {}), ...encoded]) };
}
