/**
 * Loading on first use. Importing imgverify should cost little more than importing
 * `@sigstore/verify` (bench/startup.ts): the parts a call does not need (the HTTP stack, SBOM
 * parsers, TUF, CEL) are loaded when a call first needs them, not at import.
 */

/** `load()` once, on the first call; its value after. */
export function lazy<T>(load: () => T): () => T {
  let loaded: { readonly value: T } | undefined;
  return () => (loaded ??= { value: load() }).value;
}
