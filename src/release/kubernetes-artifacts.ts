/**
 * The Kubernetes release's signed files, as the Kubernetes docs ("Verify Signed Kubernetes
 * Artifacts") verify them with `cosign verify-blob`:
 *
 *   - binaries at `https://dl.k8s.io/release/<version>/bin/<os>/<arch>/<name>`, each with
 *     `<name>.sig` (base64 signature) and `<name>.cert` (base64 of the PEM certificate); their
 *     Rekor entries are not published beside them: they are looked up in Rekor;
 *   - the release SBOM at `https://sbom.k8s.io/<version>/release`, with `release.sig` and
 *     `release.cert` beside it (and `release.sha256`/`.sha512`);
 *
 * both signed keylessly by krel-staging@k8s-releng-prod.iam.gserviceaccount.com (issuer
 * https://accounts.google.com), not by the identity that signs the images (krel-trust@...).
 *
 * dl.k8s.io has no directory listing, so "every binary of a platform" is the list of names the
 * release publishes per OS (KUBERNETES_BINARIES, from the release's `bin/` tree): a name the
 * release does not have for a version (404 on the binary itself) is reported as not published;
 * a binary that is published but whose signature or certificate is missing fails.
 */
import { createHash } from 'node:crypto';
import { ImgverifyError, toImgverifyError } from '../errors';
import type { VerificationPolicy } from '../policy/policy';
import { WebClient } from '../net/web-client';
import type { HttpStack } from '../registry';
import { mapLimit } from '../util/pool';
import { defined } from '../util/object';
import type { BlobVerificationResult, ImageVerifier, PreparedPolicy } from '../verify/verifier';
import type { FailureInfo, SignerInfo, TlogInfo } from '../verify/types';
import { failureInfo } from '../verify/types';
import { KUBERNETES_ARTIFACT_IDENTITY, KUBERNETES_BINARIES, KUBERNETES_DL_BASE_URL } from './kubernetes';
import { urlForMessages } from '../util/url-text';

const PLATFORM = /^(linux|darwin|windows)\/(amd64|arm64|arm|386|ppc64le|s390x)$/;
const VERSION = /^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** Most bytes of one binary (the largest, kube-apiserver, is about 100 MB). */
const MAX_BINARY_BYTES = 512 * 1024 * 1024;
const MAX_SIGNATURE_BYTES = 64 * 1024;

/** A platform (`linux/amd64`), checked. */
function kubernetesPlatform(text: string): { readonly os: string; readonly arch: string } {
  const m = PLATFORM.exec(text);
  if (!m)
    throw new ImgverifyError('INVALID_OPTIONS', `invalid platform ${JSON.stringify(text)}: expected OS/ARCH, e.g. linux/amd64 (OS: linux, darwin, windows)`);
  return { os: m[1]!, arch: m[2]! };
}

function normaliseVersion(version: string): string {
  const v = version.startsWith('v') ? version : `v${version}`;
  if (!VERSION.test(v)) throw new ImgverifyError('INVALID_OPTIONS', `invalid Kubernetes version "${version}" (expected e.g. v1.32.0)`);
  return v;
}

/** `https://dl.k8s.io/release/v1.32.0/bin/linux/amd64/kubectl`. */
export function kubernetesBinaryUrl(version: string, platform: string, name: string, baseUrl: string = KUBERNETES_DL_BASE_URL): string {
  const { os, arch } = kubernetesPlatform(platform);
  return `${baseUrl.replace(/\/+$/, '')}/release/${normaliseVersion(version)}/bin/${os}/${arch}/${name}`;
}

/** The outcome for one signed file (a binary or the SBOM). */
export interface ArtifactVerification {
  /** `linux/amd64/kubectl`, or `sbom`. */
  readonly name: string;
  readonly url: string;
  /** `verified`; `failed` (a check failed, or the file could not be fetched); `not-published` (no such file in this release). */
  readonly status: 'verified' | 'failed' | 'not-published';
  /** The file's SHA-256 (hex), once downloaded. */
  readonly sha256?: string;
  readonly size?: number;
  readonly signer?: SignerInfo;
  readonly tlog?: TlogInfo;
  readonly signedAt?: string;
  /** The Rekor entry found for it. */
  readonly rekorEntry?: { readonly uuid: string; readonly url: string };
  readonly failure?: FailureInfo;
}

export interface ArtifactOptions {
  /** The Rekor to look entries up in (default the public-good one). */
  readonly rekorUrl?: string | undefined;
  /** Deadline of each request, ms. */
  readonly timeoutMs?: number | undefined;
  /** Files downloaded at once (default 2: binaries are large). */
  readonly concurrency?: number | undefined;
  /** Default KUBERNETES_ARTIFACT_IDENTITY. */
  readonly policy?: VerificationPolicy | PreparedPolicy | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The HTTP stack (proxies, CAs, connections) to share, e.g. the registries' (shareHttpStack). */
  readonly httpStack?: HttpStack | undefined;
}

function fetchStatus(err: unknown): number | undefined {
  const m = err instanceof ImgverifyError && err.code === 'FETCH_FAILED' ? /: HTTP (\d{3})$/.exec(err.message) : null;
  return m ? Number(m[1]) : undefined;
}

function failed(name: string, url: string, err: unknown, facts: Partial<ArtifactVerification> = {}): ArtifactVerification {
  const error = toImgverifyError(err);
  const signer = (error.details?.signer as SignerInfo | undefined) ?? facts.signer;
  return { name, url, status: 'failed', ...facts, ...defined({ signer }), failure: failureInfo(error) };
}

function missingMaterial(what: string, url: string, err: unknown): ImgverifyError {
  if (fetchStatus(err) === 404) {
    return new ImgverifyError('NO_SIGNATURES', `the release publishes the file but no ${what} (${urlForMessages(url)}: HTTP 404)`);
  }
  return toImgverifyError(err);
}

/**
 * Downloads one signed file with its `.sig` and `.cert` and verifies it (the signature's Rekor
 * entry looked up online). `optional`: a missing file (404) is `not-published` rather than failed.
 */
async function verifySignedFile(
  verifier: ImageVerifier,
  web: WebClient,
  name: string,
  url: string,
  options: ArtifactOptions,
  file: { readonly optional: boolean; readonly bytes?: Buffer; readonly sigUrl?: string; readonly certUrl?: string },
): Promise<ArtifactVerification> {
  const signal = options.signal;
  let bytes: Buffer;
  try {
    bytes = file.bytes ?? (await web.get(url, { what: name, maxBytes: MAX_BINARY_BYTES, ...defined({ signal }) }));
  } catch (err) {
    if (file.optional && fetchStatus(err) === 404) return { name, url, status: 'not-published' };
    return failed(name, url, err);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const facts = { sha256, size: bytes.length };
  // The signature is checked over the digest: the binary need not stay in memory meanwhile
  // (nothing below reads `bytes`, so it can be collected while the signature is fetched).
  const sigUrl = file.sigUrl ?? `${url}.sig`;
  const certUrl = file.certUrl ?? `${url}.cert`;
  let signature: Buffer;
  let certificate: Buffer;
  try {
    signature = await web.get(sigUrl, { what: `${name} signature`, maxBytes: MAX_SIGNATURE_BYTES, ...defined({ signal }) }).catch((err: unknown) => {
      throw missingMaterial('signature (.sig)', sigUrl, err);
    });
    certificate = await web.get(certUrl, { what: `${name} certificate`, maxBytes: MAX_SIGNATURE_BYTES, ...defined({ signal }) }).catch((err: unknown) => {
      throw missingMaterial('certificate (.cert)', certUrl, err);
    });
  } catch (err) {
    return failed(name, url, err, facts);
  }
  let result: BlobVerificationResult;
  try {
    result = await verifier.verifyBlob({ digest: `sha256:${sha256}` }, { signature, certificate }, options.policy ?? KUBERNETES_ARTIFACT_IDENTITY, {
      ...defined({ rekorUrl: options.rekorUrl, timeoutMs: options.timeoutMs, signal }),
    });
  } catch (err) {
    return failed(name, url, err, facts);
  }
  if (!result.verified) return failed(name, url, result.error, facts);
  return {
    name,
    url,
    status: 'verified',
    ...facts,
    signer: result.signer,
    ...defined({ tlog: result.tlog, signedAt: result.signedAt, rekorEntry: result.rekorEntry }),
  };
}

/**
 * Downloads and verifies every binary of a release for the given platforms (`linux/amd64`, ...),
 * in list order. Never throws for a per-file problem: each outcome is in the list.
 */
export async function verifyKubernetesBinaries(
  verifier: ImageVerifier,
  version: string,
  platforms: readonly string[],
  options: ArtifactOptions & { readonly baseUrl?: string | undefined } = {},
): Promise<ArtifactVerification[]> {
  const files = platforms.flatMap((platform) => {
    const { os } = kubernetesPlatform(platform);
    return (KUBERNETES_BINARIES[os] ?? []).map((name) => ({ name: `${platform}/${name}`, url: kubernetesBinaryUrl(version, platform, name, options.baseUrl) }));
  });
  const web = new WebClient(defined({ timeoutMs: options.timeoutMs, httpStack: options.httpStack }));
  try {
    return await mapLimit(files, options.concurrency ?? 2, (f) => verifySignedFile(verifier, web, f.name, f.url, options, { optional: true }));
  } finally {
    await web.close();
  }
}

/**
 * Verifies an SBOM's own signature: `<url>.sig` and `<url>.cert` beside it, as the Kubernetes
 * release publishes them. `not-published` when the publisher provides neither (404 on both).
 */
export async function verifySbomSignature(
  verifier: ImageVerifier,
  sbomUrl: string,
  sbom: Buffer,
  options: ArtifactOptions = {},
): Promise<ArtifactVerification> {
  const web = new WebClient(defined({ timeoutMs: options.timeoutMs, httpStack: options.httpStack }));
  try {
    const sigUrl = `${sbomUrl}.sig`;
    const certUrl = `${sbomUrl}.cert`;
    const probe = await Promise.allSettled([
      web.get(sigUrl, { what: 'SBOM signature', maxBytes: MAX_SIGNATURE_BYTES, ...defined({ signal: options.signal }) }),
      web.get(certUrl, { what: 'SBOM certificate', maxBytes: MAX_SIGNATURE_BYTES, ...defined({ signal: options.signal }) }),
    ]);
    if (probe.every((p) => p.status === 'rejected' && fetchStatus(p.reason) === 404)) return { name: 'sbom', url: sbomUrl, status: 'not-published' };
    return await verifySignedFile(verifier, web, 'sbom', sbomUrl, options, { optional: false, bytes: sbom, sigUrl, certUrl });
  } finally {
    await web.close();
  }
}
