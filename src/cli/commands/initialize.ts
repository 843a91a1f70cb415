/**
 * `imgverify initialize [--mirror URL] [--root FILE|URL] [--tuf-cache DIR]` (cosign initialize):
 * a TUF update against the mirror, verified by the TUF rules (tuf-js) and cached; the
 * verifying commands then use that mirror's trusted root.
 */
import { parseArgs } from 'node:util';
import { defaultTufCacheDir, initializeTuf, PUBLIC_GOOD_TUF_MIRROR, type TufStatus } from '../..';
import { outputFormat, parseDuration } from '../common-flags';
import type { CommandIO } from '../io';
import { usageError } from '../usage-error';
import { jsonText } from '../../util/json-text';

const INITIALIZE_USAGE = `Usage: imgverify initialize [--mirror URL] [--root FILE|URL] [--tuf-cache DIR]

Updates the trust material from a TUF repository, verifies it by the TUF rules (root rotations
walked forward from the trusted root, signatures and thresholds, rollback and expiry checks,
the trusted_root.json target's hash and length) and caches it. After that, verify,
verify-attestation, verify-release, verify-bundle, policy test and webhook use that trusted root,
refreshing it from the mirror when the cached update is more than a day old (or expired) and the
mirror answers. A failed update leaves the cache in use untouched.

  --mirror URL          the TUF repository (default ${PUBLIC_GOOD_TUF_MIRROR})
  --root FILE|URL       the initial trusted root.json. Default: the cached root of that mirror, else
                        (public-good mirror) the root that ships with imgverify in @sigstore/tuf
  --tuf-cache DIR       the cache folder (default $XDG_CACHE_HOME/imgverify/tuf, else
                        ~/.cache/imgverify/tuf)
  --timeout D           per request (default 15s)
  --output json|text    (default text)

Exit status: 0 cached; 1 the mirror's metadata does not verify (TUF_METADATA_INVALID); 2 usage
error (bad flags, unreadable --root); 3 the mirror did not answer (TUF_MIRROR_UNREACHABLE).
`;

export function tufStatusLines(status: TufStatus): string[] {
  const role = (name: string, r: { version: number; expires: string }): string => `  ${name.padEnd(10)} version ${r.version}, expires ${r.expires}`;
  return [
    `  mirror     ${status.mirror}`,
    `  cache      ${status.cacheDir}`,
    `  updated    ${status.updatedAt}`,
    role('root', status.root),
    role('timestamp', status.timestamp),
    role('snapshot', status.snapshot),
    role('targets', status.targets),
    `  trusted_root.json sha256:${status.trustedRootSha256}`,
  ];
}

export async function initializeCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      mirror: { type: 'string' },
      root: { type: 'string' },
      'tuf-cache': { type: 'string' },
      timeout: { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.stdout(INITIALIZE_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw usageError(`initialize takes no arguments, got "${positionals[0]}"`);
  const format = outputFormat(values);
  const trust = await initializeTuf({
    ...(values.mirror !== undefined ? { mirror: values.mirror } : {}),
    ...(values.root !== undefined ? { root: values.root } : {}),
    cacheDir: values['tuf-cache'] ?? defaultTufCacheDir(io.env),
    ...(values.timeout !== undefined ? { timeoutMs: parseDuration(values.timeout, '--timeout') } : {}),
  });
  const status = trust.status();
  if (format === 'json') io.stdout(`${jsonText(status)}\n`);
  else io.stdout(`TUF metadata verified and cached:\n${tufStatusLines(status).join('\n')}\n`);
  return 0;
}
