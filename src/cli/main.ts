#!/usr/bin/env node
/**
 * The `imgverify` command line: subcommand dispatch, usage errors, exit statuses.
 */
import { exitCodeFor, ImgverifyError } from '../errors';
import { verifyAttestationCommand, verifyCommand, VERIFY_USAGE } from './commands/verify';
import { verifyReleaseCommand } from './commands/verify-release';
import { verifyBundleCommand } from './commands/verify-bundle';
import { policyCommand } from './commands/policy-test';
import { webhookCommand } from './commands/webhook';
import { processIO, type CommandIO } from './io';

const USAGE = `Usage: imgverify <command> [flags]

Commands:
  verify IMAGE...        verify cosign signatures of container images
  verify-attestation IMAGE... [--type T]
                         verify cosign attestations (in-toto) and print the statements
  verify-release (--sbom FILE_OR_URL | --kubernetes VERSION)
                         verify every image an SPDX SBOM lists (a Kubernetes release)
  verify-bundle FILE     verify a Sigstore bundle for a file or sha256: digest
  webhook                serve the Kubernetes admission webhook (HTTPS)
  policy test IMAGE...   evaluate ClusterImagePolicies against images (dry run)
  version                print the version

Run "imgverify <command> --help" for a command's flags.
`;

type Command = (argv: string[], io: CommandIO) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  webhook: (argv, io) => webhookCommand(argv, io),
  policy: policyCommand,
  verify: verifyCommand,
  'verify-attestation': verifyAttestationCommand,
  'verify-release': verifyReleaseCommand,
  'verify-bundle': verifyBundleCommand,
};

function isParseArgsError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof err === 'object' && err !== null && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

export async function run(argv: string[], io: CommandIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === 'version' || name === '--version') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    io.stdout(`imgverify ${(require('../../package.json') as { version: string }).version}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`imgverify: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (err) {
    if (isParseArgsError(err)) {
      io.stderr(`imgverify ${name}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ImgverifyError) {
      io.stderr(`imgverify ${name}: ${err.message} [${err.code}]\n`);
      return exitCodeFor(err.category);
    }
    io.stderr(`imgverify ${name}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 3;
  }
}

export { VERIFY_USAGE };

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`imgverify: ${String(err)}\n`);
      process.exitCode = 3;
    },
  );
}
