/**
 * The object without its undefined fields, typed as optional fields: results and JSON output
 * carry a field only when it has a value (with exactOptionalPropertyTypes, an optional field
 * may be absent but not undefined).
 */
export function defined<T extends Record<string, unknown>>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}
