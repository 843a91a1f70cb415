/**
 * JSON text for people and machines, bounded: indented like `JSON.stringify(value, null, 2)`
 * down to a depth, and compact below it. `JSON.stringify` with an indent writes depth × indent
 * spaces on each line, so a few KB of signed, deeply nested JSON (an attestation's predicate)
 * became 32 MB of spaces; and its recursion overflows the stack on very deep input. This
 * writer is iterative (any depth) and its output is at most a constant factor of the compact
 * text. Same rules as JSON.stringify otherwise: `toJSON` is honoured, `undefined`, functions
 * and symbols are left out of objects and written `null` in arrays, non-finite numbers are
 * `null`.
 */

/** Levels indented; deeper values are written compact on their line. */
export const MAX_INDENTED_DEPTH = 20;

type Frame =
  | { readonly kind: 'array'; readonly items: readonly unknown[]; next: number; readonly depth: number }
  | { readonly kind: 'object'; readonly entries: ReadonlyArray<readonly [string, unknown]>; next: number; readonly depth: number };

/** `value` as JSON text, indented by `indent` spaces down to MAX_INDENTED_DEPTH levels. */
export function jsonText(value: unknown, indent = 2): string {
  const out: string[] = [];
  const stack: Frame[] = [];
  const pad = (depth: number): string => (depth <= MAX_INDENTED_DEPTH ? `\n${' '.repeat(indent * depth)}` : '');
  const space = (depth: number): string => (depth <= MAX_INDENTED_DEPTH ? ' ' : '');

  /** Writes a scalar, or opens a container (pushed on the stack). `depth` is the value's level. */
  const open = (raw: unknown, key: string, depth: number): void => {
    const v = prepared(raw, key);
    if (v === null || typeof v !== 'object') {
      out.push(scalar(v) ?? 'null');
      return;
    }
    if (Array.isArray(v)) {
      if (v.length === 0) out.push('[]');
      else {
        out.push('[');
        stack.push({ kind: 'array', items: v, next: 0, depth });
      }
      return;
    }
    const entries = Object.keys(v).flatMap((k): Array<readonly [string, unknown]> => {
      const item = prepared((v as Record<string, unknown>)[k], k);
      return item === undefined || typeof item === 'function' || typeof item === 'symbol' ? [] : [[k, item]];
    });
    if (entries.length === 0) out.push('{}');
    else {
      out.push('{');
      stack.push({ kind: 'object', entries, next: 0, depth });
    }
  };

  open(value, '', 0);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const inner = frame.depth + 1;
    const size = frame.kind === 'array' ? frame.items.length : frame.entries.length;
    if (frame.next === size) {
      stack.pop();
      out.push(pad(frame.depth), frame.kind === 'array' ? ']' : '}');
      continue;
    }
    const i = frame.next++;
    out.push(i > 0 ? ',' : '', pad(inner));
    if (frame.kind === 'array') open(frame.items[i], String(i), inner);
    else {
      const [k, item] = frame.entries[i]!;
      out.push(JSON.stringify(k), ':', space(inner));
      open(item, k, inner);
    }
  }
  return out.join('');
}

/** What JSON.stringify writes for a value after `toJSON`: the value itself for containers. */
function prepared(value: unknown, key: string): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(key: string): unknown }).toJSON(key);
  }
  return value;
}

/** A scalar's JSON text, or undefined where JSON has none (written `null` in arrays). */
function scalar(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    default:
      return value === null ? 'null' : undefined;
  }
}
