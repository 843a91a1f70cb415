/**
 * `imgverify verify-blob FILE`: cosign verify-blob, in-process. As the Kubernetes docs verify
 * the release binaries:
 *
 *   imgverify verify-blob kubectl --signature kubectl.sig --certificate kubectl.cert \
 *     --certificate-identity krel-staging@k8s-releng-prod.iam.gserviceaccount.com \
 *     --certificate-oidc-issuer https://accounts.google.com
 *
 * Configuration problems (flags, unreadable files, a trusted root that does not load) are
 * thrown before any verification (exit 2); the outcome is one verdict (exit 0/1, 3 when Rekor or
 * a URL could not be reached).
 */
import { parseArgs } from 'node:util';
import { createVerifier, exitCodeFor, PUBLIC_GOOD_REKOR_URL, readFileOrUrl, type BlobSignature, type BlobVerificationResult, type SignerInfo } from '../..';
import { defined } from '../../util/object';
import { CLAIMS_HELP, outputFormat, parseDuration, POLICY_FLAGS, policyFromFlags } from '../common-flags';
import type { CommandIO } from '../io';
import { claimsText } from '../output';
import { usageError } from '../usage-error';
import { jsonText } from '../../util/json-text';

const VERIFY_BLOB_USAGE = `Usage: imgverify verify-blob FILE [flags]

Verifies a signed file (cosign sign-blob): a signature with its certificate or key, cosign's
bundle, or a Sigstore bundle. Without a bundle, the signature's transparency-log entry is looked
up in Rekor by the file's SHA-256 (as cosign does) and verified before it counts: its signed
entry timestamp or inclusion proof and checkpoint against the trusted root, and a body that names
this signature, certificate and digest.

Signature material (FILE|URL: a path, or an https URL):
  --signature FILE|URL              the signature: base64 (cosign's .sig files) or raw
  --certificate FILE|URL            the signing certificate: PEM, or base64 of PEM (Kubernetes .cert files)
  --certificate-chain FILE|URL      PEM certificates after the leaf (informational: trust comes
                                    from the trusted root)
  --bundle FILE|URL                 a Sigstore bundle (v0.1-v0.3) or cosign's bundle JSON
                                    (sign-blob --bundle); then no --signature/--certificate
  --key FILE                        PEM public key instead of a certificate

Policy (keyless: one identity flag and one issuer flag are required):
  --certificate-identity S          exact certificate identity (SAN: email, URI, username)
  --certificate-identity-regexp R   RE2 regexp matched against the identity (unanchored, as cosign)
  --certificate-oidc-issuer S       exact OIDC issuer
  --certificate-oidc-issuer-regexp R
  --insecure-ignore-tlog            accept a signature without a transparency-log entry (no Rekor lookup)
  --insecure-ignore-sct             accept certificates without an SCT (a present SCT is still checked)

${CLAIMS_HELP}

Trust, Rekor and output:
  --trusted-root FILE               trusted_root.json (default: the embedded Sigstore public-good root)
  --rekor-url URL                   the Rekor to look the entry up in (default ${PUBLIC_GOOD_REKOR_URL})
  --offline                         never contact Rekor: a signature without a bundle is then refused
  --timeout D                       deadline of each request (e.g. 30s; default 30s)
  --output json|text                json: {artifact, verified, signer, tlog, signedAt, rekorEntry, content, failure}

Exit status: 0 verified; 1 verification failed; 2 usage or configuration error; 3 Rekor or a URL
could not be reached.
`;

const FLAGS = {
  ...POLICY_FLAGS,
  signature: { type: 'string' },
  certificate: { type: 'string' },
  'certificate-chain': { type: 'string' },
  bundle: { type: 'string' },
  'trusted-root': { type: 'string' },
  'rekor-url': { type: 'string' },
  offline: { type: 'boolean' },
  timeout: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Signature, certificate and bundle files are small; a larger one is not what it claims to be. */
const MAX_MATERIAL_BYTES = 4 * 1024 * 1024;
/** The artifact is read into memory to be hashed and verified (Kubernetes binaries are < 200 MB). */
const MAX_ARTIFACT_BYTES = 2 * 1024 * 1024 * 1024;

type Verdict = BlobVerificationResult;

function signerText(signer: SignerInfo): string {
  if (signer.publicKeySha256) return `key sha256:${signer.publicKeySha256.slice(0, 16)}…`;
  return `${signer.subject ?? '(no identity)'} (issuer ${signer.issuer ?? 'unknown'}${claimsText(signer.verifiedClaims)})`;
}

function blobVerdictText(target: string, verdict: Verdict): string {
  if (verdict.verified) {
    const result = verdict;
    const when = result.signedAt ? `, signed at ${result.signedAt}` : '';
    const log = result.tlog ? `, log index ${result.tlog.logIndex}` : '';
    const found = result.rekorEntry ? ' (entry found in Rekor)' : '';
    return `VERIFIED  ${target}  signed by ${signerText(result.signer)}${when}${log}${found}`;
  }
  const { error } = verdict;
  const label = error.category === 'verification' ? 'FAILED  ' : 'ERROR   ';
  return `${label}  ${target}  ${error.message} [${error.code}]`;
}

function blobVerdictJSON(target: string, verdict: Verdict): Record<string, unknown> {
  const base = { artifact: target, verified: verdict.verified };
  if (!verdict.verified) return { ...base, failure: verdict.error.toJSON() };
  const result = verdict;
  const content = result.content.kind === 'dsse' ? { kind: 'dsse', payloadType: result.content.payloadType } : result.content;
  return { ...base, signer: result.signer, ...defined({ tlog: result.tlog, signedAt: result.signedAt, rekorEntry: result.rekorEntry }), content };
}

export async function verifyBlobCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  if (values.help) {
    io.stdout(VERIFY_BLOB_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw usageError(`verify-blob needs exactly one FILE, got ${positionals.length}`);
  const format = outputFormat(values);
  if (values.bundle !== undefined && (values.signature !== undefined || values.certificate !== undefined || values['certificate-chain'] !== undefined)) {
    throw usageError('--bundle carries the signature and certificate: give either --bundle or --signature (with --certificate or --key)');
  }
  if (values.bundle === undefined && values.signature === undefined) throw usageError('--signature FILE (or --bundle FILE) is required');
  if (values.offline && values.bundle === undefined && !values['insecure-ignore-tlog']) {
    throw usageError(
      '--offline: a signature without a bundle carries no transparency-log entry, and looking it up needs Rekor online; give a --bundle (cosign sign-blob --bundle) or verify online',
    );
  }
  if (values.offline && values['rekor-url'] !== undefined) throw usageError('--offline and --rekor-url contradict each other');
  const timeoutMs = values.timeout !== undefined ? parseDuration(values.timeout, '--timeout') : undefined;

  // Configuration, all before any verification: errors are thrown (exit 2, or 3 for a URL that cannot be fetched).
  const trustedRoot = values['trusted-root'];
  const verifier = createVerifier(trustedRoot === undefined ? {} : { trustedRoot });
  const policy = verifier.preparePolicy(policyFromFlags(values));
  const read = (source: string, what: string) => readFileOrUrl(source, { what, maxBytes: MAX_MATERIAL_BYTES, ...defined({ timeoutMs }) });
  const material: { -readonly [K in keyof BlobSignature]: BlobSignature[K] } = {};
  if (values.bundle !== undefined) material.bundle = await read(values.bundle, '--bundle');
  if (values.signature !== undefined) material.signature = await read(values.signature, '--signature');
  if (values.certificate !== undefined) material.certificate = await read(values.certificate, '--certificate');
  if (values['certificate-chain'] !== undefined) material.certificateChain = await read(values['certificate-chain'], '--certificate-chain');
  const target = positionals[0]!;
  const artifact = await readFileOrUrl(target, { what: 'the artifact', maxBytes: MAX_ARTIFACT_BYTES, ...defined({ timeoutMs }) });

  let verdict: Verdict;
  try {
    verdict = await verifier.verifyBlob(artifact, material, policy, {
      ...(values.offline ? { offline: true } : {}),
      ...defined({ rekorUrl: values['rekor-url'], timeoutMs }),
    });
  } finally {
    await verifier.close();
  }
  // A usage problem (the signature material given) or a bug is reported as such (stderr, exit 2 or 4), not as a verdict.
  if (!verdict.verified && (verdict.error.category === 'usage' || verdict.error.category === 'internal')) throw verdict.error;
  if (format === 'json') io.stdout(`${jsonText(blobVerdictJSON(target, verdict))}\n`);
  else io.stdout(`${blobVerdictText(target, verdict)}\n`);
  return verdict.verified ? 0 : exitCodeFor(verdict.error.category);
}
