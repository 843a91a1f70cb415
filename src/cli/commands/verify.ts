/** `imgverify verify IMAGE [IMAGE...]` (cosign verify) and `verify-attestation` (cosign verify-attestation), in-process. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createVerifier, parseReference, type ImageVerificationResult, type ImageVerifier, type PreparedPolicy } from '../..';
import { mapConcurrent } from '../../util/pool';
import { outputFormat, POLICY_FLAGS, policyFromFlags, TRUST_AND_REGISTRY_FLAGS, verifierOptionsFromFlags } from '../common-flags';
import { exitCodeForResults } from '../exit-code';
import { resultToJSON, resultToText } from '../output';
import type { CommandIO } from '../io';
import { trustHelp } from '../trust-flags';
import { usageError } from '../usage-error';

const POLICY_HELP = `Policy (keyless: one identity flag and one issuer flag are required):
  --certificate-identity S          exact certificate identity (SAN: email, URI, username)
  --certificate-identity-regexp R   RE2 regexp matched against the identity (unanchored, as cosign)
  --certificate-oidc-issuer S       exact OIDC issuer
  --certificate-oidc-issuer-regexp R
  --key FILE                        PEM public key instead of identities
  --insecure-ignore-tlog            accept signatures without a transparency-log entry
  --insecure-ignore-sct             accept certificates without an SCT (a present SCT is still checked)`;

const TRUST_HELP = `Trust and registry:
${trustHelp()}
  --allow-http-registry             plain http to any registry (loopback registries always use http)
  --registry-cacert FILE            extra CA certificates (PEM) for registry TLS
  --registry-username U --registry-password P
  --timeout D                       per-request timeout (e.g. 30s, 2m; default 30s)
  --concurrency N                   images verified at once (default 8)
  --output json|text                json: an array, one object per IMAGE (default: text)`;

const EXIT_HELP = `Exit status: 0 all verified; 1 a verification failed; 2 usage or configuration error;
3 operational error (registry unreachable, timeout, image not found, TUF metadata expired and no
mirror to update it from).`;

export const VERIFY_USAGE = `Usage: imgverify verify IMAGE [IMAGE...] [flags]

Verifies cosign signatures of container images (keyless, or with --key).

${POLICY_HELP}

${TRUST_HELP}

${EXIT_HELP}
`;

export const VERIFY_ATTESTATION_USAGE = `Usage: imgverify verify-attestation IMAGE [IMAGE...] [--type T] [flags]

Verifies cosign attestations (in-toto statements in DSSE envelopes) of container images and
prints the verified statements (--output json).

  --type T                          predicate type: slsaprovenance, slsaprovenance02, slsaprovenance1,
                                    link, spdx, spdxjson, cyclonedx, vuln, openvex, custom, or a URI
                                    (default: any)

${POLICY_HELP}

${TRUST_HELP}

${EXIT_HELP}
`;

interface ImageCommand<R extends ImageVerificationResult> {
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly check: (verifier: ImageVerifier, image: string, policy: PreparedPolicy, values: Record<string, unknown>) => Promise<R>;
  readonly text: (result: R) => string;
}

/** The shared shape of commands that verify IMAGE arguments: flags, policy, concurrency, output, exit status. */
async function runImageCommand<R extends ImageVerificationResult>(argv: string[], io: CommandIO, command: ImageCommand<R>): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...POLICY_FLAGS, ...TRUST_AND_REGISTRY_FLAGS, concurrency: { type: 'string' }, ...command.options },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.stdout(command.usage);
    return 0;
  }
  if (positionals.length === 0) throw usageError('at least one IMAGE is required');
  const format = outputFormat(values);
  const policy = policyFromFlags(values);
  // A malformed IMAGE argument is a usage error, reported before any network work.
  const refs = positionals.map((p) => parseReference(p));
  const concurrency = values.concurrency === undefined ? 8 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw usageError(`--concurrency must be a positive integer, got "${String(values.concurrency)}"`);

  const verifier = createVerifier(await verifierOptionsFromFlags(values, io, [...new Set(refs.map((r) => r.registry))]));
  try {
    const prepared = verifier.preparePolicy(policy);
    const results = new Array<R>(positionals.length);
    const indexed = positionals.map((image, index) => ({ image, index }));
    for await (const { index, result } of mapConcurrent(indexed, concurrency, async ({ image, index }) => ({
      index,
      result: await command.check(verifier, image, prepared, values),
    }))) {
      results[index] = result;
      if (format === 'text') io.stdout(`${command.text(result)}\n`);
    }
    if (format === 'json') io.stdout(`${JSON.stringify(results.map(resultToJSON), null, 2)}\n`);
    return exitCodeForResults(results);
  } finally {
    await verifier.close();
  }
}

export function verifyCommand(argv: string[], io: CommandIO): Promise<number> {
  return runImageCommand(argv, io, {
    usage: VERIFY_USAGE,
    options: {},
    check: (verifier, image, policy) => verifier.verify(image, policy),
    text: resultToText,
  });
}

export function verifyAttestationCommand(argv: string[], io: CommandIO): Promise<number> {
  return runImageCommand(argv, io, {
    usage: VERIFY_ATTESTATION_USAGE,
    options: { type: { type: 'string' } },
    check: (verifier, image, policy, values) =>
      verifier.verifyAttestations(image, policy, typeof values.type === 'string' ? { predicateType: values.type } : {}),
    text: (result) => {
      const types = [...new Set(result.attestations.map((a) => a.predicateType))];
      return `${resultToText(result)}${types.length > 0 ? `  [${types.join(', ')}]` : ''}`;
    },
  });
}
