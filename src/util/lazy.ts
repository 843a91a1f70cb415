/**
 * Loading on first use. Importing imgverify should cost little more than importing
 * `@sigstore/verify` (bench/startup.ts): the parts a call does not need (the HTTP stack, SBOM
 * parsers, TUF, CEL) are loaded when a call first needs them, not at import.
 */

/**
 * `load()` once, on the first call; its value after. A module loaded so names the parts it
 * uses, so that a reader, and the unused-export check (knip, `npm run check:unused`), see them:
 *
 *   const web = lazy(() => {
 *     const { WebClient } = require('../net/web-client') as typeof import('../net/web-client');
 *     return { WebClient };
 *   });
 */
export function lazy<T>(load: () => T): () => T {
  let loaded: { readonly value: T } | undefined;
  return () => (loaded ??= { value: load() }).value;
}
