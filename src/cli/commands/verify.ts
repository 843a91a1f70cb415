/** `imgverify verify IMAGE [IMAGE...]` (cosign verify) and `verify-attestation` (cosign verify-attestation), in-process. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  compileAttestationConditionFile,
  createVerifier,
  parseReference,
  type AttestationCondition,
  type ImageVerificationResult,
  type ImageVerifier,
  type PreparedPolicy,
} from '../..';
import { mapConcurrent } from '../../util/pool';
import { CLAIMS_HELP, credentialHosts, outputFormat, POLICY_FLAGS, policyFromFlags, TRUST_AND_REGISTRY_FLAGS, verifierOptionsFromFlags } from '../common-flags';
import { exitCodeForResults } from '../exit-code';
import { resultToJSON, resultToText } from '../output';
import type { CommandIO } from '../io';
import { trustHelp } from '../trust-flags';
import { usageError } from '../usage-error';
import { errorMessage } from '../../util/describe';
import { jsonText } from '../../util/json-text';
import { readBoundedFileSync } from '../../util/bounded-file';

/** A `--policy` file: CEL text, a few expressions of at most 16 KiB each. */
const MAX_POLICY_FILE_BYTES = 1024 * 1024;

const POLICY_HELP = `Policy (keyless: one identity flag and one issuer flag are required):
  --certificate-identity S          exact certificate identity (SAN: email, URI, username)
  --certificate-identity-regexp R   RE2 regexp matched against the identity (unanchored, as cosign)
  --certificate-oidc-issuer S       exact OIDC issuer
  --certificate-oidc-issuer-regexp R
  --key FILE                        PEM public key instead of identities
  --insecure-ignore-tlog            accept signatures without a transparency-log entry
  --insecure-ignore-sct             accept certificates without an SCT (a present SCT is still checked)

${CLAIMS_HELP}`;

const TRUST_HELP = `Trust and registry:
${trustHelp()}
  --allow-http-registry             plain http to any registry (loopback registries always use http)
  --registry-cacert FILE            extra CA certificates (PEM) for registry TLS
  --registry-username U --registry-password P
                                    credentials for the registries of the IMAGE arguments (else the docker
                                    config, credential helpers, containers auth.json)
  --registry-client-cert FILE --registry-client-key FILE
                                    TLS client certificate (mTLS) for those registries
  --registry-credentials-host HOST  give the flag credentials to HOST instead (repeatable)
  Proxies: HTTPS_PROXY, HTTP_PROXY, NO_PROXY (as Go reads them; loopback is never proxied)
  --timeout D                       deadline for one image's verification, every request, redirect,
                                    retry and token request included (e.g. 30s, 2m; default 30s)
  --concurrency N                   images verified at once (default 8)
  --output json|text                json: an array, one object per IMAGE (default: text)`;

const EXIT_HELP = `Exit status: 0 all verified; 1 a verification failed; 2 usage or configuration error;
3 operational error (registry unreachable, timeout, image not found, TUF metadata expired and no
mirror to update it from).`;

const VERIFY_USAGE = `Usage: imgverify verify IMAGE [IMAGE...] [flags]

Verifies cosign signatures of container images (keyless, or with --key).

${POLICY_HELP}

${TRUST_HELP}

${EXIT_HELP}
`;

const VERIFY_ATTESTATION_USAGE = `Usage: imgverify verify-attestation IMAGE [IMAGE...] [--type T] [flags]

Verifies cosign attestations (in-toto statements in DSSE envelopes) of container images and
prints the verified statements (--output json).

  --type T                          predicate type: slsaprovenance, slsaprovenance02, slsaprovenance1,
                                    link, spdx, spdxjson, cyclonedx, vuln, openvex, custom, or a URI
                                    (default: any)
  --policy FILE.cel                 a condition on what the attestation says, in CEL, over the verified
                                    statement's predicateType, subject and predicate; an attestation
                                    counts only when every expression is true (several expressions in
                                    a file are separated by "---" lines; the flag may be repeated).
                                    CUE and Rego policies (cosign) are not supported

${POLICY_HELP}

${TRUST_HELP}

${EXIT_HELP}
`;

interface ImageCommand<R extends ImageVerificationResult> {
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly check: (
    verifier: ImageVerifier,
    image: string,
    policy: PreparedPolicy,
    values: Record<string, unknown>,
    conditions: readonly AttestationCondition[],
  ) => Promise<R>;
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
  const conditions = conditionsFromFlags((values as Record<string, unknown>).policy);
  // A malformed IMAGE argument is a usage error, reported before any network work.
  const refs = positionals.map((p) => parseReference(p));
  const concurrency = values.concurrency === undefined ? 8 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw usageError(`--concurrency must be a positive integer, got "${String(values.concurrency)}"`);

  // Flag credentials go to the registries named on the command line: the IMAGE arguments and
  // COSIGN_REPOSITORY (or exactly those of --registry-credentials-host).
  const named = refs.map((r) => r.registry);
  if (io.env.COSIGN_REPOSITORY) named.push(parseReference(io.env.COSIGN_REPOSITORY).registry);
  const verifier = createVerifier(await verifierOptionsFromFlags(values, io, credentialHosts(values, named, 'verify')));
  try {
    const prepared = verifier.preparePolicy(policy);
    const results = new Array<R>(positionals.length);
    const indexed = positionals.map((image, index) => ({ image, index }));
    for await (const { index, result } of mapConcurrent(indexed, concurrency, async ({ image, index }) => ({
      index,
      result: await command.check(verifier, image, prepared, values, conditions),
    }))) {
      results[index] = result;
      if (format === 'text') io.stdout(`${command.text(result)}\n`);
    }
    if (format === 'json') io.stdout(`${jsonText(results.map(resultToJSON))}\n`);
    return exitCodeForResults(results);
  } finally {
    await verifier.close();
  }
}

/** `--policy FILE` (repeatable): CEL conditions, compiled before any image is looked at (errors: exit 2). */
function conditionsFromFlags(files: unknown): AttestationCondition[] {
  const list = files === undefined ? [] : Array.isArray(files) ? (files as string[]) : [files as string];
  return list.flatMap((file) => {
    if (/\.(cue|rego)$/i.test(file)) {
      throw usageError(`--policy ${file}: CUE and Rego policies are not supported; write the condition in CEL (a .cel file)`);
    }
    let text: string;
    try {
      text = readBoundedFileSync(file, MAX_POLICY_FILE_BYTES).toString('utf8');
    } catch (err) {
      throw usageError(`--policy: cannot read ${file}: ${errorMessage(err)}`);
    }
    return compileAttestationConditionFile(text, file);
  });
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
    options: { type: { type: 'string' }, policy: { type: 'string', multiple: true } },
    check: (verifier, image, policy, values, conditions) =>
      verifier.verifyAttestations(image, policy, {
        ...(typeof values.type === 'string' ? { predicateType: values.type } : {}),
        ...(conditions.length > 0 ? { condition: conditions } : {}),
      }),
    text: (result) => {
      const types = [...new Set(result.attestations.map((a) => a.predicateType))];
      return `${resultToText(result)}${types.length > 0 ? `  [${types.join(', ')}]` : ''}`;
    },
  });
}
