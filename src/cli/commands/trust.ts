/**
 * `imgverify trust show [--output json]`: the trust material the verifying commands would use
 * with the same flags, where it came from (embedded, a file, a TUF mirror with its metadata
 * versions and expiry), each CA, log and TSA with its validity window, and warnings.
 */
import { parseArgs } from 'node:util';
import {
  describeTrustRoot,
  isTrustRootProvider,
  publicGoodTrustRoot,
  trustRootFromFile,
  TufTrustRoot,
  type LoadedTrustRoot,
  type TrustRootSummary,
  type TufStatus,
} from '../..';
import { outputFormat } from '../common-flags';
import type { CommandIO } from '../io';
import { TRUST_FLAGS, trustFromFlags, trustHelp } from '../trust-flags';
import { usageError } from '../usage-error';
import { tufStatusLines } from './initialize';
import { jsonText } from '../../util/json-text';

const TRUST_USAGE = `Usage: imgverify trust show [flags]

Shows the trust material the verifying commands use with the same flags: where it comes from
(the embedded Sigstore public-good root, trusted_root.json files, or the TUF mirror of
"imgverify initialize" with its metadata versions and expiry), each certificate authority,
transparency log, CT log and timestamp authority with its validity window, and warnings (TUF
metadata that expires within 7 days, nothing currently valid).

${trustHelp(24)}
  --output json|text    (default text)
`;

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;

type Kind = 'embedded' | 'file' | 'tuf';

interface Shown extends TrustRootSummary {
  readonly kind: Kind;
  readonly tuf?: TufStatus;
}

function window(w: { start?: string; end?: string; current: boolean }): string {
  return `${w.start ?? '-∞'} .. ${w.end ?? 'no end'}${w.current ? '' : '  (NOT VALID NOW)'}`;
}

function text(root: Shown): string {
  const lines = [`${root.kind === 'tuf' ? 'TUF' : root.kind === 'file' ? 'file' : 'embedded'}: ${root.source}`];
  if (root.tuf) lines.push(...tufStatusLines(root.tuf));
  const section = (title: string, items: readonly string[]): void => {
    lines.push(`  ${title}:${items.length === 0 ? ' none' : ''}`);
    for (const item of items) lines.push(`    ${item}`);
  };
  section(
    'certificate authorities',
    root.certificateAuthorities.map((ca) => `${ca.uri}${ca.subject ? ` (${ca.subject})` : ''}  ${window(ca.validFor)}`),
  );
  section(
    'transparency logs',
    root.transparencyLogs.map((l) => `${l.baseUrl}  ${l.keyDetails}  ${window(l.validFor)}`),
  );
  section(
    'CT logs',
    root.ctLogs.map((l) => `${l.baseUrl}  ${l.keyDetails}  ${window(l.validFor)}`),
  );
  section(
    'timestamp authorities',
    root.timestampAuthorities.map((t) => `${t.uri}${t.subject ? ` (${t.subject})` : ''}  ${window(t.validFor)}`),
  );
  for (const w of root.warnings) lines.push(`  WARNING: ${w}`);
  return lines.join('\n');
}

async function show(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...TRUST_FLAGS, output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.stdout(TRUST_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw usageError(`trust show takes no arguments, got "${positionals[0]}"`);
  const format = outputFormat(values);
  const trust = await trustFromFlags(values, io);
  const now = Date.now();
  const entries: Array<{ kind: Kind; root: LoadedTrustRoot; tuf?: TufStatus }> = (trust.roots ?? [publicGoodTrustRoot()]).map((input) => {
    if (input instanceof TufTrustRoot) return { kind: 'tuf', root: input.current(), tuf: input.status() };
    if (isTrustRootProvider(input)) return { kind: 'file', root: input.current() };
    if (typeof input === 'string') return { kind: 'file', root: trustRootFromFile(input) };
    return { kind: 'embedded', root: input as LoadedTrustRoot };
  });
  const shown: Shown[] = entries.map(({ kind, root, tuf }) => {
    const summary = describeTrustRoot(root, now);
    const warnings = [...summary.warnings];
    if (tuf && Date.parse(tuf.expires) - now < WEEK_MS)
      warnings.unshift(`the TUF metadata expires at ${tuf.expires}, within 7 days: it must be refreshed from ${tuf.mirror} before then`);
    return { kind, ...summary, warnings, ...(tuf ? { tuf } : {}) };
  });
  if (format === 'json') io.stdout(`${jsonText({ roots: shown })}\n`);
  else io.stdout(`${shown.map(text).join('\n\n')}\n`);
  return 0;
}

/** `imgverify trust <subcommand>`. */
export async function trustCommand(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(TRUST_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'show') throw usageError(`unknown trust subcommand "${sub}" (expected: show)`);
  return show(rest, io);
}
