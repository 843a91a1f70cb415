/** `imgverify verify IMAGE [IMAGE...]`: cosign verify, in-process. */
import { parseArgs } from 'node:util';
import { parseReference } from '../../reference';
import { createVerifier } from '../../verify/verifier';
import type { ImageVerificationResult } from '../../verify/types';
import { outputFormat, POLICY_FLAGS, policyFromFlags, TRUST_AND_REGISTRY_FLAGS, verifierOptionsFromFlags } from '../common-flags';
import { exitCodeForResults } from '../exit-code';
import { resultToJSON, resultToText } from '../output';
import type { CommandIO } from '../io';
import { usageError } from '../usage-error';

export const VERIFY_USAGE = `Usage: imgverify verify IMAGE [IMAGE...] [flags]

Verifies cosign signatures of container images (keyless, or with --key).

Policy (keyless: one identity flag and one issuer flag are required):
  --certificate-identity S          exact certificate identity (SAN: email, URI, username)
  --certificate-identity-regexp R   RE2 regexp matched against the identity (unanchored, as cosign)
  --certificate-oidc-issuer S       exact OIDC issuer
  --certificate-oidc-issuer-regexp R
  --key FILE                        PEM public key instead of identities
  --insecure-ignore-tlog            accept signatures without a transparency-log entry
  --insecure-ignore-sct             accept certificates without a valid SCT

Trust and registry:
  --trusted-root FILE               trusted_root.json (default: the embedded Sigstore public-good root)
  --allow-http-registry             plain http to any registry (loopback registries always use http)
  --registry-cacert FILE            extra CA certificates (PEM) for registry TLS
  --registry-username U --registry-password P
  --timeout D                       per-request timeout (e.g. 30s, 2m; default 30s)
  --concurrency N                   images verified at once (default 8)
  --output json|text                json: an array, one object per IMAGE (default: text)

Exit status: 0 all verified; 1 a verification failed; 2 usage or configuration error;
3 operational error (registry unreachable, timeout, image not found).
`;

export async function verifyCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...POLICY_FLAGS, ...TRUST_AND_REGISTRY_FLAGS, concurrency: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.stdout(VERIFY_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw usageError('verify needs at least one IMAGE');
  const format = outputFormat(values);
  const policy = policyFromFlags(values);
  // A malformed IMAGE argument is a usage error, reported before any network work.
  const refs = positionals.map((p) => parseReference(p));
  const concurrency = values.concurrency === undefined ? 8 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw usageError(`--concurrency must be a positive integer, got "${values.concurrency}"`);

  const verifier = createVerifier(verifierOptionsFromFlags(values, io.env, [...new Set(refs.map((r) => r.registry))]));
  try {
    const prepared = verifier.preparePolicy(policy);
    const byIndex = new Map<string, ImageVerificationResult>();
    for await (const result of verifier.verifyMany(positionals, prepared, { concurrency })) {
      byIndex.set(result.image, result);
      if (format === 'text') io.stdout(`${resultToText(result)}\n`);
    }
    const results = positionals.map((p) => byIndex.get(p)!);
    if (format === 'json') io.stdout(`${JSON.stringify(results.map(resultToJSON), null, 2)}\n`);
    return exitCodeForResults(results);
  } finally {
    await verifier.close();
  }
}
