/**
 * Where the verifying commands' trust comes from, from their flags:
 *   --trusted-root FILE (repeatable)  those roots, any one of which may verify a signature;
 *   else the TUF cache of `imgverify initialize` (--tuf-cache DIR, default under the user's
 *   cache folder), refreshed from its mirror when due unless --offline;
 *   else the embedded Sigstore public-good root (offline, as always).
 */
import type { ParseArgsConfig } from 'node:util';
import { defaultTufCacheDir, hasTufCache, ImgverifyError, loadTufTrustRoot, type TrustRootInput, type TufTrustRoot } from '..';
import type { CommandIO } from './io';

export const TRUST_FLAGS = {
  'trusted-root': { type: 'string', multiple: true },
  'tuf-cache': { type: 'string' },
  offline: { type: 'boolean' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** The help lines for TRUST_FLAGS, flags indented by 2 and text at column `indent`. */
export function trustHelp(indent = 36): string {
  const pad = (flag: string): string => `  ${flag}`.padEnd(indent);
  const cont = ' '.repeat(indent);
  return [
    `${pad('--trusted-root FILE')}trusted_root.json; repeat it for several roots (a signature verifies`,
    `${cont}when every check passes within one of them). Default: the TUF cache of`,
    `${cont}"imgverify initialize" when there is one, else the embedded Sigstore public-good root`,
    `${pad('--tuf-cache DIR')}the TUF cache (default $XDG_CACHE_HOME/imgverify/tuf, else ~/.cache/imgverify/tuf)`,
    `${pad('--offline')}never contact the TUF mirror: use the cached metadata while it is valid`,
  ].join('\n');
}

type Values = Record<string, string | boolean | readonly string[] | undefined>;

/**
 * The trust the flags name: files, a TUF root (warnings on stderr), or undefined for the
 * embedded root. An explicit --tuf-cache that holds nothing is an error, except for the webhook
 * (`cacheOnly`), where it is also where TrustRoot documents keep their caches.
 */
export async function trustFromFlags(
  values: Values,
  io: CommandIO,
  options: { cacheOnly?: boolean } = {},
): Promise<{ roots?: TrustRootInput[]; tuf?: TufTrustRoot }> {
  const files = values['trusted-root'];
  const list: string[] = typeof files === 'string' ? [files] : Array.isArray(files) ? files.filter((f): f is string => typeof f === 'string') : [];
  if (list.length > 0) return { roots: list };
  const explicit = typeof values['tuf-cache'] === 'string' ? values['tuf-cache'] : undefined;
  const cacheDir = explicit ?? defaultTufCacheDir(io.env);
  if (!hasTufCache(cacheDir)) {
    if (explicit !== undefined && !options.cacheOnly) {
      throw new ImgverifyError(
        'TUF_NOT_INITIALIZED',
        `--tuf-cache ${explicit}: no TUF metadata is cached there: run imgverify initialize --tuf-cache ${explicit} first`,
      );
    }
    return {};
  }
  const tuf = await loadTufTrustRoot({ cacheDir, offline: values.offline === true });
  for (const warning of tuf.warnings) io.stderr(`warning: ${warning}\n`);
  return { roots: [tuf], tuf };
}
