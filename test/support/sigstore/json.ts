// The two JSON serialisations the Sigstore ecosystem produces.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

/**
 * Canonical JSON as Rekor writes entry bodies and signs SETs (RFC 8785 / the webpki
 * jsoncanonicalizer): object keys sorted by UTF-16 code units, no whitespace, ECMAScript
 * number and string serialisation. Undefined members are dropped.
 */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const members = Object.keys(value)
    .filter((key) => value[key] !== undefined)
    .sort() // default sort compares UTF-16 code units, as RFC 8785 requires
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as Json)}`);
  return `{${members.join(',')}}`;
}

/**
 * Go's encoding/json.Marshal output for values built in Go's field order: compact, with
 * the HTML-safe escapes Go applies by default (<, >, & and U+2028/2029). Go sorts map keys,
 * so callers pass maps through sortedKeys() and structs in declaration order.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A copy of a string map with keys in sorted order (how Go marshals a map[string]string). */
export function sortedKeys<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.keys(map)
      .sort()
      .map((key) => [key, map[key]!]),
  );
}
