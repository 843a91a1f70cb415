/**
 * `imgverify verify-bundle`: verifies a Sigstore bundle for a file or a `sha256:` digest,
 * following sigstore-conformance's client protocol (docs/conformance.md):
 *   verify-bundle [--staging] --bundle FILE (--certificate-identity ID --certificate-oidc-issuer URL | --key PEM)
 *                 [--trusted-root FILE] FILE_OR_DIGEST
 * Configuration errors (flags, key, trusted root, unreadable files) are thrown before
 * anything is verified (exit 2); a verification outcome is printed as one verdict.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createVerifier, exitCodeFor, MAX_BUNDLE_BYTES, type BundleArtifact, type BundleVerificationResult, type SignerInfo } from '../..';
import { defined } from '../../util/object';
import { CLAIMS_HELP, outputFormat, POLICY_FLAGS, policyFromFlags } from '../common-flags';
import type { CommandIO } from '../io';
import { TRUST_FLAGS, trustFromFlags, trustHelp } from '../trust-flags';
import { usageError } from '../usage-error';
import { errorMessage } from '../../util/describe';
import { jsonText } from '../../util/json-text';
import { readBoundedFile } from '../../util/bounded-file';

const VERIFY_BUNDLE_USAGE = `Usage: imgverify verify-bundle --bundle FILE [flags] FILE_OR_DIGEST

Verifies a Sigstore bundle (v0.1-v0.3; message signature or DSSE/in-toto) for an artifact,
given as a file or as its digest "sha256:<64 hex>" (or sha384:, sha512:; a digest that names an
existing file is read as a file). For a DSSE bundle the artifact must be a subject of the in-toto
statement.

Policy (keyless: one identity flag and one issuer flag are required):
  --certificate-identity S          exact certificate identity (SAN: email, URI, username)
  --certificate-identity-regexp R   RE2 regexp matched against the identity (unanchored, as cosign)
  --certificate-oidc-issuer S       exact OIDC issuer
  --certificate-oidc-issuer-regexp R
  --key FILE                        PEM public key, for bundles signed with a key
  --insecure-ignore-tlog            accept bundles without a transparency-log entry
  --insecure-ignore-sct             accept certificates without a valid SCT

${CLAIMS_HELP}

Trust and output:
  --bundle FILE                     the bundle (JSON)
${trustHelp()}
  --staging                         accepted for the conformance protocol; needs --trusted-root
  --output json|text                json: one object {verified, signer, tlog, signedAt, content, failure}

Exit status: 0 verified; 1 verification failed; 2 usage or configuration error; 3 operational error.
`;

const FLAGS = {
  ...POLICY_FLAGS,
  bundle: { type: 'string' },
  ...TRUST_FLAGS,
  staging: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

const DIGEST_ARG = /^(sha256:[0-9a-fA-F]{64}|sha384:[0-9a-fA-F]{96}|sha512:[0-9a-fA-F]{128})$/;

async function readInput(path: string, what: string, limit?: number): Promise<Buffer> {
  try {
    return limit !== undefined ? await readBoundedFile(path, limit) : await readFile(path);
  } catch (err) {
    throw usageError(`${what}: cannot read ${path}: ${errorMessage(err)}`);
  }
}

/**
 * The protocol's rule: a digest is `sha256:` + 64 hex characters and not a path on disk
 * (imgverify also takes `sha384:` and `sha512:` digests, for statements that name those).
 */
async function artifactFromArgument(arg: string): Promise<BundleArtifact> {
  if (DIGEST_ARG.test(arg) && !existsSync(arg)) return arg.startsWith('sha256:') ? { sha256: arg.slice(7).toLowerCase() } : { digest: arg.toLowerCase() };
  return { bytes: await readInput(arg, 'artifact') };
}

function signerText(signer: SignerInfo): string {
  if (signer.publicKeySha256) return `key sha256:${signer.publicKeySha256.slice(0, 16)}…`;
  return `${signer.subject ?? '(no identity)'} (issuer ${signer.issuer ?? 'unknown'})`;
}

/** What verifying the bundle gave: the verified bundle, or the failure. */
type Verdict = BundleVerificationResult;

function verdictText(target: string, verdict: Verdict): string {
  if (verdict.verified) {
    const result = verdict;
    const when = result.signedAt ? `, signed at ${result.signedAt}` : '';
    const log = result.tlog ? `, log index ${result.tlog.logIndex}` : '';
    return `VERIFIED  ${target}  signed by ${signerText(result.signer)}${when}${log}`;
  }
  const { error } = verdict;
  const label = error.category === 'verification' ? 'FAILED  ' : 'ERROR   ';
  return `${label}  ${target}  ${error.message} [${error.code}]`;
}

function verdictJSON(bundlePath: string, target: string, verdict: Verdict): Record<string, unknown> {
  const base = { bundle: bundlePath, artifact: target, verified: verdict.verified };
  if (!verdict.verified) return { ...base, failure: { code: verdict.error.code, category: verdict.error.category, message: verdict.error.message } };
  const result = verdict;
  // `sha256` (hex) as before `digest` (alg:hex) was added, for scripts that read it.
  const { digest } = result.content.kind === 'message-signature' ? result.content : { digest: undefined };
  const content =
    result.content.kind === 'dsse'
      ? { kind: 'dsse', payloadType: result.content.payloadType }
      : { kind: 'message-signature', digest, ...defined({ sha256: digest?.startsWith('sha256:') ? digest.slice(7) : undefined }) };
  return { ...base, signer: result.signer, ...defined({ tlog: result.tlog, signedAt: result.signedAt }), content };
}

export async function verifyBundleCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  if (values.help) {
    io.stdout(VERIFY_BUNDLE_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw usageError(`verify-bundle needs exactly one FILE_OR_DIGEST, got ${positionals.length}`);
  if (values.bundle === undefined) throw usageError('--bundle FILE is required');
  const format = outputFormat(values);
  if (values.staging && (values['trusted-root'] ?? []).length === 0) {
    throw usageError('--staging: no staging trust root is embedded; give the staging trusted_root.json with --trusted-root');
  }

  // Configuration: any error here is thrown (exit 2 for usage, as main maps categories).
  const trust = await trustFromFlags(values, io);
  const verifier = createVerifier(trust.roots ? { trustedRoot: trust.roots } : {});
  const policy = verifier.preparePolicy(policyFromFlags(values));
  const bundleBytes = await readInput(values.bundle, '--bundle', MAX_BUNDLE_BYTES);
  const target = positionals[0]!;
  const artifact = await artifactFromArgument(target);

  const verdict = verifier.verifyBundle(bundleBytes, artifact, policy);
  if (format === 'json') io.stdout(`${jsonText(verdictJSON(values.bundle, target, verdict))}\n`);
  else io.stdout(`${verdictText(target, verdict)}\n`);
  return verdict.verified ? 0 : exitCodeFor(verdict.error.category);
}
