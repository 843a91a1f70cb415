/**
 * The Sigstore public-good trusted root, read from the TUF seed that ships inside
 * `@sigstore/tuf` (`seeds.json`: the repository's root.json plus the `trusted_root.json`
 * target, ./seeds.ts). No network is needed. The seed is trusted as the npm package that
 * carries it is (lockfile integrity); a TUF refresh is not attempted here.
 */
import { ImgverifyError } from '../errors';
import { publicGoodSeed, SEEDS_SOURCE } from './seeds';
import { trustRootFromText, type LoadedTrustRoot } from './trusted-root';

let cached: LoadedTrustRoot | undefined;

/** The embedded public-good trusted root, parsed once per process. */
export function publicGoodTrustRoot(): LoadedTrustRoot {
  if (cached) return cached;
  const target = publicGoodSeed().trustedRoot;
  if (target === undefined) {
    throw new ImgverifyError('TRUST_ROOT_INVALID', `embedded public-good trusted root (${SEEDS_SOURCE}) has no trusted_root.json target`);
  }
  cached = trustRootFromText(target, 'embedded public-good');
  return cached;
}
