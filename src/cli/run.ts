/**
 * The `imgverify` command line: subcommand dispatch, usage errors, exit statuses.
 */
import { exitCodeFor, toImgverifyError } from '..';
import { errorMessage } from '../util/describe';
import { processIO, type CommandIO } from './io';

const USAGE = `Usage: imgverify <command> [flags]

Commands:
  verify IMAGE...        verify cosign signatures of container images
  verify-attestation IMAGE... [--type T]
                         verify cosign attestations (in-toto) and print the statements
  verify-release (--sbom FILE_OR_URL | --kubernetes VERSION [--binaries [OS/ARCH]])
                         verify every image an SPDX SBOM lists (a Kubernetes release), and its binaries
  verify-bundle FILE     verify a Sigstore bundle for a file or sha256: digest
  verify-blob FILE       verify a signed file (cosign verify-blob): signature + certificate or key,
                         or a bundle; the Rekor entry is looked up online when no bundle carries it
  initialize [--mirror URL] [--root FILE|URL]
                         update the trusted root from a TUF repository and cache it
  trust show             the trust material in use: where it comes from, keys, validity
  webhook                serve the Kubernetes admission webhook (HTTPS)
  policy test IMAGE...   evaluate ClusterImagePolicies against images (dry run)
  policy test -f FILE    ... against every image of Kubernetes manifests (CI: text, JSON, SARIF, JUnit)
  audit                  which running Pods the policies would deny today (OpenReports Reports)
  version                print the version

Run "imgverify <command> --help" for a command's flags.
`;

type Command = (argv: string[], io: CommandIO) => Promise<number>;

// Each command's modules load only when it runs: a one-shot `verify` process does not pay
// for the webhook, SBOM or bundle code (cold start is what a shell loop of verifications costs).
/* eslint-disable @typescript-eslint/no-require-imports -- a synchronous, lazy load; `import()` would make every command start async */
const COMMANDS: Record<string, () => Command> = {
  webhook: () => (require('./commands/webhook') as typeof import('./commands/webhook')).webhookCommand,
  policy: () => (require('./commands/policy-test') as typeof import('./commands/policy-test')).policyCommand,
  audit: () => (require('./commands/audit') as typeof import('./commands/audit')).auditCommand,
  verify: () => (require('./commands/verify') as typeof import('./commands/verify')).verifyCommand,
  'verify-attestation': () => (require('./commands/verify') as typeof import('./commands/verify')).verifyAttestationCommand,
  'verify-release': () => (require('./commands/verify-release') as typeof import('./commands/verify-release')).verifyReleaseCommand,
  'verify-bundle': () => (require('./commands/verify-bundle') as typeof import('./commands/verify-bundle')).verifyBundleCommand,
  'verify-blob': () => (require('./commands/verify-blob') as typeof import('./commands/verify-blob')).verifyBlobCommand,
  initialize: () => (require('./commands/initialize') as typeof import('./commands/initialize')).initializeCommand,
  trust: () => (require('./commands/trust') as typeof import('./commands/trust')).trustCommand,
};
/* eslint-enable @typescript-eslint/no-require-imports */

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
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- read at run time from the installed package, not compiled in
    io.stdout(`imgverify ${(require('../../package.json') as { version: string }).version}\n`);
    return 0;
  }
  const load = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    io.stderr(`imgverify: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    // Loading is inside: a command whose optional dependency is missing fails DEPENDENCY_MISSING (exit 2).
    return await load()(rest, io);
  } catch (err) {
    if (isParseArgsError(err)) {
      io.stderr(`imgverify ${name}: ${err.message}\n`);
      return 2;
    }
    const error = toImgverifyError(err);
    io.stderr(`imgverify ${name}: ${error.message} [${error.code}]\n`);
    // A bug: the stack helps whoever reads the report.
    if (error.code === 'INTERNAL_ERROR' && err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
    return exitCodeFor(error.category);
  }
}

/**
 * Runs the command line of this process and sets its exit status. A promise rejection nobody
 * handles (a bug) is reported on stderr instead of ending the process before the command has
 * answered; the webhook logs and counts its own (`surviveUnhandledRejections`).
 */
export function main(): void {
  const argv = process.argv.slice(2);
  if (argv[0] !== 'webhook') {
    process.on('unhandledRejection', (reason: unknown) => {
      process.stderr.write(`imgverify: internal error, ignored: an unhandled promise rejection: ${errorMessage(reason)}\n`);
    });
  }
  run(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`imgverify: ${toImgverifyError(err).message}\n`);
      process.exitCode = 4;
    },
  );
}
