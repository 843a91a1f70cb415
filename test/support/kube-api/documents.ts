/**
 * Pure operations on JSON documents that the emulated API server applies: JSON merge patch
 * (RFC 7386), JSON patch (RFC 6902), pruning by a structural schema (what the API server
 * does to fields a CRD does not declare), label and field selectors.
 */
import type { Json } from '../json';

export class DocumentError extends Error {}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** RFC 7386: objects merge key by key, `null` removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new DocumentError(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function parentOf(doc: unknown, tokens: string[], path: string): { parent: Json; key: string } {
  let node: Json = doc;
  for (const token of tokens.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(token)] : isObject(node) ? node[token] : undefined;
    if (node === undefined) throw new DocumentError(`path ${path} does not exist`);
  }
  return { parent: node, key: tokens[tokens.length - 1]! };
}

function read(doc: unknown, path: string): unknown {
  let node: Json = doc;
  for (const token of pointer(path)) {
    node = Array.isArray(node) ? node[Number(token)] : isObject(node) ? node[token] : undefined;
    if (node === undefined) throw new DocumentError(`path ${path} does not exist`);
  }
  return node;
}

function remove(doc: unknown, path: string): unknown {
  const tokens = pointer(path);
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw new DocumentError(`path ${path} does not exist`);
    return parent.splice(i, 1)[0];
  }
  if (!isObject(parent) || !(key in parent)) throw new DocumentError(`path ${path} does not exist`);
  const old = parent[key];
  delete parent[key];
  return old;
}

function add(doc: unknown, path: string, value: unknown): unknown {
  const tokens = pointer(path);
  if (tokens.length === 0) return clone(value);
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new DocumentError(`path ${path}: index out of range`);
    parent.splice(i, 0, clone(value));
  } else if (isObject(parent)) parent[key] = clone(value);
  else throw new DocumentError(`path ${path}: parent is not a container`);
  return doc;
}

/** RFC 6902, all six operations; any failing operation fails the whole patch. */
export function jsonPatch(document: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new DocumentError('a JSON patch is a list of operations');
  let doc = clone(document);
  for (const op of ops) {
    const path = String(op?.path);
    switch (op?.op) {
      case 'add':
        doc = add(doc, path, op.value);
        break;
      case 'remove':
        remove(doc, path);
        break;
      case 'replace':
        remove(doc, path);
        doc = add(doc, path, op.value);
        break;
      case 'move': {
        const value = remove(doc, String(op.from));
        doc = add(doc, path, value);
        break;
      }
      case 'copy':
        doc = add(doc, path, read(doc, String(op.from)));
        break;
      case 'test':
        if (JSON.stringify(read(doc, path)) !== JSON.stringify(op.value)) throw new DocumentError(`test operation failed at ${path}`);
        break;
      default:
        throw new DocumentError(`unknown JSON patch operation ${JSON.stringify(op?.op)}`);
    }
  }
  return doc;
}

/**
 * Drops what a structural schema does not declare, as the API server prunes custom resources
 * (`apiVersion`, `kind` and `metadata` are kept at the root); returns the dropped paths.
 */
export function prune(value: unknown, schema: Json, path = '', root = true): string[] {
  const dropped: string[] = [];
  if (schema === undefined || (schema['x-kubernetes-preserve-unknown-fields'] === true && !schema.properties)) return dropped;
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => dropped.push(...prune(item, schema.items, `${path}[${i}]`, false)));
    return dropped;
  }
  if (!isObject(value)) return dropped;
  const properties = schema.properties as Record<string, Json> | undefined;
  for (const key of Object.keys(value)) {
    if (root && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
    const where = path === '' ? key : `${path}.${key}`;
    const sub = properties?.[key] ?? (isObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
    if (sub !== undefined) dropped.push(...prune(value[key], sub, where, false));
    else if (schema.additionalProperties === true || schema['x-kubernetes-preserve-unknown-fields'] === true) continue;
    else {
      delete value[key];
      dropped.push(where);
    }
  }
  return dropped;
}

// --- Selectors ------------------------------------------------------------------------------

type Requirement = (labels: Record<string, string>) => boolean;

/** A label selector (`a=b,c!=d,e,!f,g in (x,y),h notin (z)`) as a predicate on labels. */
export function labelSelector(text: string): Requirement {
  const requirements: Requirement[] = [];
  // Commas separate requirements except inside parentheses.
  const parts = text
    .split(/,(?![^(]*\))/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const part of parts) {
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = list.split(',').map((v) => v.trim());
      requirements.push(op === 'in' ? (l) => key in l && values.includes(l[key]!) : (l) => !(key in l) || !values.includes(l[key]!));
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(part))) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      requirements.push(op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if ((m = /^!([\w./-]+)$/.exec(part))) {
      const key = m[1]!;
      requirements.push((l) => !(key in l));
    } else if ((m = /^([\w./-]+)$/.exec(part))) {
      const key = m[1]!;
      requirements.push((l) => key in l);
    } else throw new DocumentError(`unable to parse requirement: ${JSON.stringify(part)}`);
  }
  return (labels) => requirements.every((r) => r(labels));
}

/** A field selector over `metadata.name` and `metadata.namespace` (what every resource supports). */
export function fieldSelector(text: string): (object: Json) => boolean {
  const tests: Array<(object: Json) => boolean> = [];
  for (const part of text.split(',').filter((p) => p !== '')) {
    const m = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(part.trim());
    if (!m) throw new DocumentError(`field label not supported: ${part.split(/[!=]/)[0]}`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const get = (o: Json): string => (field === 'metadata.name' ? o.metadata?.name : o.metadata?.namespace) ?? '';
    tests.push(op === '!=' ? (o) => get(o) !== value : (o) => get(o) === value);
  }
  return (object) => tests.every((t) => t(object));
}
