/**
 * The public-good TUF seed that ships inside `@sigstore/tuf` (`seeds.json`): the repository's
 * initial `root.json` and its `trusted_root.json` target, base64. Read with a static `require`
 * of the file, so that a bundler (esbuild, ncc, webpack, Bun's, Deno's) inlines it: a bundle
 * run from a folder without node_modules still has it (docs/runtimes.md). Parsed on first use.
 */
import { ImgverifyError } from '../errors';
import { errorMessage } from '../util/describe';

/** The Sigstore public-good TUF repository, whose root ships inside `@sigstore/tuf`. */
export const PUBLIC_GOOD_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';
export const SEEDS_SOURCE = '@sigstore/tuf seeds.json';

export interface PublicGoodSeed {
  /** The mirror's initial root.json. */
  readonly root?: Buffer;
  /** Its `trusted_root.json` target. */
  readonly trustedRoot?: Buffer;
}

let seed: PublicGoodSeed | undefined;

function decoded(value: unknown): Buffer | undefined {
  return typeof value === 'string' ? Buffer.from(value, 'base64') : undefined;
}

/** The seed of the public-good mirror; TRUST_ROOT_INVALID when `@sigstore/tuf` does not carry it. */
export function publicGoodSeed(): PublicGoodSeed {
  if (seed) return seed;
  let seeds: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a static require of a JSON file: bundlers inline it
    seeds = require('@sigstore/tuf/seeds.json') as unknown;
  } catch (err) {
    throw new ImgverifyError('TRUST_ROOT_INVALID', `the embedded public-good trust material (${SEEDS_SOURCE}) cannot be read: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const entry = typeof seeds === 'object' && seeds !== null ? (seeds as Record<string, unknown>)[PUBLIC_GOOD_TUF_MIRROR] : undefined;
  const fields = typeof entry === 'object' && entry !== null ? (entry as { 'root.json'?: unknown; targets?: unknown }) : {};
  const targets = typeof fields.targets === 'object' && fields.targets !== null ? (fields.targets as Record<string, unknown>) : {};
  const root = decoded(fields['root.json']);
  const trustedRoot = decoded(targets['trusted_root.json']);
  seed = { ...(root ? { root } : {}), ...(trustedRoot ? { trustedRoot } : {}) };
  return seed;
}
