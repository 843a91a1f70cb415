/**
 * `imgverify verify-release --sbom FILE_OR_URL | --kubernetes VERSION`: verifies every image
 * an SPDX SBOM lists, in one process, with bounded concurrency, progress, a summary table,
 * a JSON report, and `--pin` to print verified images by digest. With `--kubernetes`, also the
 * SBOM's own signature (`release.sig`/`release.cert` beside it) and, with `--binaries
 * [OS/ARCH]`, the release binaries (`dl.k8s.io/release/VERSION/bin/OS/ARCH/*` with their
 * `.sig`/`.cert`), in the same report.
 */
import { parseArgs } from 'node:util';
import {
  createVerifier,
  exitCodeFor,
  imagesFromSbom,
  ImgverifyError,
  KUBERNETES_ARTIFACT_IDENTITY,
  KUBERNETES_DL_BASE_URL,
  KUBERNETES_RELEASE_IDENTITY,
  KUBERNETES_SBOM_BASE_URL,
  kubernetesSbomUrl,
  readSbom,
  shareHttpStack,
  verifyKubernetesBinaries,
  verifySbomSignature,
  type ArtifactVerification,
  type ImageVerificationResult,
} from '../..';
import { defined } from '../../util/object';
import { connectionsForImages } from '../../util/pool';
import {
  credentialHosts,
  hasPolicyFlags,
  outputFormat,
  parseDuration,
  POLICY_FLAGS,
  policyFromFlags,
  TRUST_AND_REGISTRY_FLAGS,
  verifierOptionsFromFlags,
} from '../common-flags';
import { exitCodeForResults } from '../exit-code';
import type { CommandIO } from '../io';
import { resultToJSON } from '../output';
import { Progress, summaryTable } from '../report-table';
import { usageError } from '../usage-error';
import { urlForMessages } from '../../util/url-text';
import { jsonText } from '../../util/json-text';

const DEFAULT_RELEASE_CONCURRENCY = 16;

const VERIFY_RELEASE_USAGE = `Usage: imgverify verify-release (--sbom FILE_OR_URL | --kubernetes VERSION) [flags]

Verifies every container image that an SPDX SBOM (tag-value or JSON) lists.

  --sbom FILE_OR_URL        the SBOM (https URL, or http on loopback)
  --kubernetes VERSION      preset: the SBOM at https://sbom.k8s.io/<VERSION>/release, its images signed by
                            ${KUBERNETES_RELEASE_IDENTITY.subject}
                            (issuer ${KUBERNETES_RELEASE_IDENTITY.issuer}) unless identity flags are given;
                            the SBOM's own signature (release.sig, release.cert) is verified too, signed by
                            ${KUBERNETES_ARTIFACT_IDENTITY.subject};
                            IMGVERIFY_KUBERNETES_SBOM_BASE_URL points it at a mirror
  --binaries [OS/ARCH]      with --kubernetes: download and verify the release binaries of OS/ARCH
                            (default: this machine's, e.g. linux/amd64; repeatable) from
                            ${KUBERNETES_DL_BASE_URL}/release/<VERSION>/bin/OS/ARCH/ with their .sig and .cert,
                            signed by ${KUBERNETES_ARTIFACT_IDENTITY.subject}; their Rekor
                            entries are looked up online (--rekor-url); IMGVERIFY_KUBERNETES_DL_BASE_URL
                            points it at a mirror
  --rekor-url URL           the Rekor the binaries' and SBOM's entries are looked up in
  --concurrency N           images verified at once (default ${DEFAULT_RELEASE_CONCURRENCY})
  --pin                     print each verified image as registry/repo:tag@sha256:..., one per line
                            (the summary then goes to stderr)
  --output json|text        json: the full report

Identity, trust and registry flags are those of "imgverify verify" (see its --help), except
that flag credentials (--registry-username/--registry-password, --registry-client-cert/
--registry-client-key) need --registry-credentials-host HOST (repeatable): they go only to the
registries named there, never to one the SBOM names. The SBOM URL is fetched through the same
proxies (HTTPS_PROXY, NO_PROXY) with the same --timeout, at most 10 redirects, no credentials.
Exit status as for verify: 0 all verified, 1 a verification failed, 2 usage, 3 operational.
`;

const ARCHES: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
const OSES: Readonly<Record<string, string>> = { linux: 'linux', darwin: 'darwin', win32: 'windows' };

/** The platform of this machine as Kubernetes names it (linux/amd64 when it has no Kubernetes binaries). */
export function hostPlatform(platform: string = process.platform, arch: string = process.arch): string {
  const os = OSES[platform];
  const a = ARCHES[arch];
  return os && a ? `${os}/${a}` : 'linux/amd64';
}

/** `--binaries` takes an optional value: a bare `--binaries` (last, or before another flag) means this machine's platform. */
export function withBinariesDefault(argv: readonly string[]): string[] {
  return argv.map((arg, i) => (arg === '--binaries' && (i === argv.length - 1 || argv[i + 1]!.startsWith('-')) ? `--binaries=${hostPlatform()}` : arg));
}

function artifactLine(a: ArtifactVerification): string {
  if (a.status === 'verified') {
    const log = a.tlog ? `, log index ${a.tlog.logIndex}` : '';
    return `verified  ${a.name}  sha256:${(a.sha256 ?? '').slice(0, 12)}…  signed by ${a.signer?.subject ?? '?'}${log}`;
  }
  if (a.status === 'not-published') return `-         ${a.name}  not published in this release`;
  const label = a.failure?.category === 'verification' ? 'FAILED  ' : 'ERROR   ';
  return `${label}  ${a.name}  ${a.failure?.code ?? ''}: ${a.failure?.message ?? 'not verified'}`;
}

export async function verifyReleaseCommand(rawArgv: string[], io: CommandIO): Promise<number> {
  const argv = withBinariesDefault(rawArgv);
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...POLICY_FLAGS,
      ...TRUST_AND_REGISTRY_FLAGS,
      sbom: { type: 'string' },
      kubernetes: { type: 'string' },
      concurrency: { type: 'string' },
      pin: { type: 'boolean' },
      binaries: { type: 'string', multiple: true },
      'rekor-url': { type: 'string' },
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
  const platforms = [
    ...new Set(
      (values.binaries ?? [])
        .flatMap((b) => b.split(','))
        .map((b) => b.trim())
        .filter((b) => b !== ''),
    ),
  ];
  if (values.binaries !== undefined && values.kubernetes === undefined)
    throw usageError('--binaries needs --kubernetes VERSION (the release the binaries belong to)');
  const format = outputFormat(values);
  const concurrency = values.concurrency === undefined ? DEFAULT_RELEASE_CONCURRENCY : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw usageError(`--concurrency must be a positive integer, got "${values.concurrency}"`);

  // The Kubernetes preset supplies the release identity unless the user gave their own (claim
  // flags alone add to it).
  const policy = policyFromFlags(
    values.kubernetes !== undefined && !hasPolicyFlags(values)
      ? { ...values, 'certificate-identity': KUBERNETES_RELEASE_IDENTITY.subject, 'certificate-oidc-issuer': KUBERNETES_RELEASE_IDENTITY.issuer }
      : values,
  );
  const source =
    values.kubernetes !== undefined
      ? kubernetesSbomUrl(values.kubernetes, io.env.IMGVERIFY_KUBERNETES_SBOM_BASE_URL ?? KUBERNETES_SBOM_BASE_URL)
      : values.sbom!;
  const timeoutMs = values.timeout !== undefined ? parseDuration(values.timeout, '--timeout') : undefined;
  // Checked before any download: a bad platform is a usage error.
  for (const p of platforms) validatePlatform(p);
  // Flag credentials go only to registries named with --registry-credentials-host: the SBOM is
  // untrusted input (often fetched from a URL) and must not choose where a password goes.
  const options = await verifierOptionsFromFlags(values, io, credentialHosts(values, undefined, 'verify-release'));
  // One HTTP stack (proxies, CAs, connections) for the SBOM URL and the registries.
  // Connections for `concurrency` images in flight (as a verifier sizes its own client).
  const { stack, options: registry } = shareHttpStack({ maxConnectionsPerHost: connectionsForImages(concurrency), ...options.registry });
  let sbom: Buffer;
  try {
    sbom = await readSbom(source, { httpStack: stack, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  } catch (err) {
    await stack.close();
    throw err;
  }

  // Parse before contacting any registry: a malformed SBOM fails with its line number.
  let sbomImages;
  try {
    sbomImages = imagesFromSbom(sbom);
  } catch (err) {
    await stack.close();
    // The SBOM is the command's input: a malformed one is a usage error (exit 2, SBOM_INVALID),
    // like a malformed trusted root; the message names the source.
    if (!(err instanceof ImgverifyError)) throw err;
    throw new ImgverifyError(err.code, `SBOM ${urlForMessages(source)} cannot be used: ${err.message}`, { cause: err, details: err.details ?? {} });
  }
  for (const w of sbomImages.warnings) io.stderr(`warning: ${w}\n`);
  for (const s of sbomImages.skipped) io.stderr(`warning: not verified: SBOM package ${s.spdxId} (${s.name}): ${s.reason}\n`);
  if (sbomImages.images.length === 0) {
    await stack.close();
    throw new ImgverifyError('SBOM_NO_IMAGES', `the SBOM ${urlForMessages(source)} lists no container images`);
  }
  const references = sbomImages.images.map((i) => i.reference);

  const verifier = createVerifier({ ...options, registry, concurrency });
  try {
    // The publisher's signature over the SBOM (Kubernetes publishes release.sig and release.cert beside it).
    const artifactOptions = { ...defined({ rekorUrl: values['rekor-url'], timeoutMs }), httpStack: stack };
    let sbomSignature: ArtifactVerification | undefined;
    if (values.kubernetes !== undefined) {
      sbomSignature = await verifySbomSignature(verifier, source, sbom, artifactOptions);
      io.stderr(`SBOM signature: ${artifactLine(sbomSignature)}\n`);
    }
    const progress = new Progress(references.length, io.stderr, io.isTTY);
    const byReference = new Map<string, ImageVerificationResult>();
    const prepared = verifier.preparePolicy(policy);
    for await (const result of verifier.verifyMany(references, prepared, { concurrency })) {
      byReference.set(result.image, result);
      progress.update(result);
    }
    const results = references.map((r) => byReference.get(r)!);
    let binaries: ArtifactVerification[] = [];
    if (values.kubernetes !== undefined && platforms.length > 0) {
      const baseUrl = io.env.IMGVERIFY_KUBERNETES_DL_BASE_URL ?? KUBERNETES_DL_BASE_URL;
      binaries = await verifyKubernetesBinaries(verifier, values.kubernetes, platforms, { ...artifactOptions, baseUrl });
      for (const b of binaries) io.stderr(`[binaries] ${artifactLine(b)}\n`);
    }
    const artifacts = [...(sbomSignature ? [sbomSignature] : []), ...binaries];
    if (format === 'json') {
      io.stdout(
        `${jsonText({
          sbom: urlForMessages(source),
          // What every signature was checked against: identity, issuer and the claims named.
          policy: prepared.description,
          images: results.length,
          verified: results.filter((r) => r.verified).length,
          results: results.map(resultToJSON),
          skipped: sbomImages.skipped,
          warnings: sbomImages.warnings,
          ...defined({ sbomSignature }),
          ...(platforms.length > 0 ? { binaries } : {}),
        })}\n`,
      );
    } else if (values.pin) {
      io.stderr(`${summaryTable(results)}\npolicy: ${prepared.description}\n${artifactsText(artifacts)}`);
      for (const r of results) if (r.verified) io.stdout(`${r.pinnedReference}\n`);
    } else {
      io.stdout(`${summaryTable(results)}\npolicy: ${prepared.description}\n${artifactsText(artifacts)}`);
    }
    return combinedExit(exitCodeForResults(results), artifacts);
  } finally {
    await verifier.close();
    await stack.close();
  }
}

function validatePlatform(platform: string): string {
  if (!/^(linux|darwin|windows)\/(amd64|arm64|arm|386|ppc64le|s390x)$/.test(platform)) {
    throw usageError(`--binaries: invalid platform ${JSON.stringify(platform)}: expected OS/ARCH, e.g. linux/amd64 (OS: linux, darwin, windows)`);
  }
  return platform;
}

function artifactsText(artifacts: readonly ArtifactVerification[]): string {
  if (artifacts.length === 0) return '';
  const lines = artifacts.map((a) => (a.name === 'sbom' ? `SBOM signature: ${artifactLine(a)}` : artifactLine(a)));
  const binaries = artifacts.filter((a) => a.name !== 'sbom');
  const count = (s: ArtifactVerification['status']) => binaries.filter((b) => b.status === s).length;
  const summary =
    binaries.length > 0
      ? [`${binaries.length} binaries: ${count('verified')} verified, ${count('failed')} failed, ${count('not-published')} not published`]
      : [];
  return `\n${[...lines, ...summary].join('\n')}\n`;
}

/** The images' exit status combined with the signed files': a failed check outranks an unreachable file. */
function combinedExit(images: number, artifacts: readonly ArtifactVerification[]): number {
  const codes = new Set([images, ...artifacts.filter((a) => a.status === 'failed').map((a) => (a.failure ? exitCodeFor(a.failure.category) : 1))]);
  for (const code of [2, 1, 4, 3]) if (codes.has(code)) return code;
  return 0;
}
