/**
 * The Sigstore public-good trusted root, read from the TUF seed that ships inside
 * `@sigstore/tuf` (`seeds.json`: the repository's root.json plus the `trusted_root.json`
 * target). No network is needed. The seed is trusted as the npm package that carries it
 * is (lockfile integrity); a TUF refresh is not attempted here.
 */
import { readFileSync } from 'node:fs';
import { ImgverifyError } from '../errors';
import { trustRootFromText, type LoadedTrustRoot } from './trusted-root';
import { errorMessage } from '../util/describe';

const PUBLIC_GOOD_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';

let cached: LoadedTrustRoot | undefined;

/** The embedded public-good trusted root, parsed once per process. */
export function publicGoodTrustRoot(): LoadedTrustRoot {
  if (cached) return cached;
  const source = 'embedded public-good trusted root (@sigstore/tuf seeds.json)';
  let seeds: unknown;
  try {
    seeds = JSON.parse(readFileSync(require.resolve('@sigstore/tuf/seeds.json'), 'utf8'));
  } catch (err) {
    throw new ImgverifyError('TRUST_ROOT_INVALID', `${source} cannot be read: ${errorMessage(err)}`, { cause: err });
  }
  const target = (seeds as Record<string, { targets?: Record<string, string> }>)[PUBLIC_GOOD_TUF_MIRROR]?.targets?.[
    'trusted_root.json'
  ];
  if (typeof target !== 'string') {
    throw new ImgverifyError('TRUST_ROOT_INVALID', `${source} has no trusted_root.json target`);
  }
  cached = trustRootFromText(Buffer.from(target, 'base64'), 'embedded public-good');
  return cached;
}
