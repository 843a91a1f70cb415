/**
 * `imgverify verify-release --sbom FILE_OR_URL | --kubernetes VERSION`: verifies every image
 * an SPDX SBOM lists, in one process, with bounded concurrency, progress, a summary table,
 * a JSON report, and `--pin` to print verified images by digest.
 */
import { parseArgs } from 'node:util';
import {
  createVerifier,
  imagesFromSbom,
  ImgverifyError,
  KUBERNETES_RELEASE_IDENTITY,
  KUBERNETES_SBOM_BASE_URL,
  kubernetesSbomUrl,
  parseReference,
  readSbom,
  type ImageVerificationResult,
} from '../..';
import { outputFormat, parseDuration, POLICY_FLAGS, policyFromFlags, TRUST_AND_REGISTRY_FLAGS, verifierOptionsFromFlags } from '../common-flags';
import { exitCodeForResults } from '../exit-code';
import type { CommandIO } from '../io';
import { resultToJSON } from '../output';
import { pinnedReference, Progress, summaryTable } from '../report-table';
import { usageError } from '../usage-error';

export const DEFAULT_RELEASE_CONCURRENCY = 16;

export const VERIFY_RELEASE_USAGE = `Usage: imgverify verify-release (--sbom FILE_OR_URL | --kubernetes VERSION) [flags]

Verifies every container image that an SPDX SBOM (tag-value or JSON) lists.

  --sbom FILE_OR_URL        the SBOM (https URL, or http on loopback)
  --kubernetes VERSION      preset: the SBOM at https://sbom.k8s.io/<VERSION>/release, signed by
                            ${KUBERNETES_RELEASE_IDENTITY.subject}
                            (issuer ${KUBERNETES_RELEASE_IDENTITY.issuer}) unless identity flags are given;
                            IMGVERIFY_KUBERNETES_SBOM_BASE_URL points it at a mirror
  --concurrency N           images verified at once (default ${DEFAULT_RELEASE_CONCURRENCY})
  --pin                     print each verified image as registry/repo:tag@sha256:..., one per line
                            (the summary then goes to stderr)
  --output json|text        json: the full report

Identity, trust and registry flags are those of "imgverify verify" (see its --help).
Exit status as for verify: 0 all verified, 1 a verification failed, 2 usage, 3 operational.
`;

export async function verifyReleaseCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...POLICY_FLAGS,
      ...TRUST_AND_REGISTRY_FLAGS,
      sbom: { type: 'string' },
      kubernetes: { type: 'string' },
      concurrency: { type: 'string' },
      pin: { type: 'boolean' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) {
    io.stdout(VERIFY_RELEASE_USAGE);
    return 0;
  }
  void positionals;
  if ((values.sbom === undefined) === (values.kubernetes === undefined)) throw usageError('give exactly one of --sbom and --kubernetes');
  const format = outputFormat(values);
  const concurrency = values.concurrency === undefined ? DEFAULT_RELEASE_CONCURRENCY : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw usageError(`--concurrency must be a positive integer, got "${values.concurrency}"`);

  const hasIdentityFlags = ['certificate-identity', 'certificate-identity-regexp', 'certificate-oidc-issuer', 'certificate-oidc-issuer-regexp', 'key'].some(
    (f) => values[f as keyof typeof values] !== undefined,
  );
  // The Kubernetes preset supplies the release identity unless the user gave their own.
  const policy = policyFromFlags(
    values.kubernetes !== undefined && !hasIdentityFlags
      ? { ...values, 'certificate-identity': KUBERNETES_RELEASE_IDENTITY.subject, 'certificate-oidc-issuer': KUBERNETES_RELEASE_IDENTITY.issuer }
      : values,
  );
  const source = values.kubernetes !== undefined ? kubernetesSbomUrl(values.kubernetes, io.env.IMGVERIFY_KUBERNETES_SBOM_BASE_URL ?? KUBERNETES_SBOM_BASE_URL) : values.sbom!;
  const timeoutMs = values.timeout !== undefined ? parseDuration(values.timeout, '--timeout') : undefined;
  const sbom = await readSbom(source, timeoutMs !== undefined ? { timeoutMs } : {});

  // Parse before contacting any registry: a malformed SBOM fails with its line number.
  let sbomImages;
  try {
    sbomImages = imagesFromSbom(sbom);
  } catch (err) {
    // The SBOM is the command's input: a malformed one is a usage error (exit 2, SBOM_INVALID),
    // like a malformed trusted root; the message names the source.
    if (!(err instanceof ImgverifyError)) throw err;
    throw new ImgverifyError(err.code, `SBOM ${source} cannot be used: ${err.message}`, { cause: err, details: err.details ?? {} });
  }
  for (const w of sbomImages.warnings) io.stderr(`warning: ${w}\n`);
  for (const s of sbomImages.skipped) io.stderr(`warning: not verified: SBOM package ${s.spdxId} (${s.name}): ${s.reason}\n`);
  if (sbomImages.images.length === 0) throw new ImgverifyError('SBOM_NO_IMAGES', `the SBOM ${source} lists no container images`);
  const references = sbomImages.images.map((i) => i.reference);
  const registries = [...new Set(references.map((r) => parseReference(r).registry))];

  const verifier = createVerifier(await verifierOptionsFromFlags(values, io, registries));
  try {
    const progress = new Progress(references.length, io.stderr, io.isTTY);
    const byReference = new Map<string, ImageVerificationResult>();
    for await (const result of verifier.verifyMany(references, verifier.preparePolicy(policy), { concurrency })) {
      byReference.set(result.image, result);
      progress.update(result);
    }
    const results = references.map((r) => byReference.get(r)!);
    if (format === 'json') {
      io.stdout(
        `${JSON.stringify(
          {
            sbom: source,
            images: results.length,
            verified: results.filter((r) => r.verified).length,
            results: results.map(resultToJSON),
            skipped: sbomImages.skipped,
            warnings: sbomImages.warnings,
          },
          null,
          2,
        )}\n`,
      );
    } else if (values.pin) {
      io.stderr(`${summaryTable(results)}\n`);
      for (const r of results) if (r.verified) io.stdout(`${pinnedReference(r)}\n`);
    } else {
      io.stdout(`${summaryTable(results)}\n`);
    }
    return exitCodeForResults(results);
  } finally {
    await verifier.close();
  }
}
