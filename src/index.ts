/**
 * imgverify: verify Sigstore/cosign signatures of container images in-process.
 *
 *   import { createVerifier } from 'imgverify';
 *   const verifier = createVerifier();                     // embedded public-good trust root
 *   const result = await verifier.verify('registry.k8s.io/kube-apiserver:v1.32.0', {
 *     subject: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com',
 *     issuer: 'https://accounts.google.com',
 *   });
 *   if (!result.verified) throw result.error;
 *
 * This file is the documented library (docs/api.md) and nothing else; its surface is locked by
 * the API report in api/imgverify.api.md. The admission webhook is the `imgverify/webhook`
 * subpath (src/webhook/index.ts).
 *
 * @packageDocumentation
 */
// First: on an unsupported Node.js version, fail here with a clear message (not deep inside a dependency).
import './util/require-node';
import type { ReadFileOrUrlOptions } from './net/read';
import type { CredentialFile, Env, HttpStack, RegistryClientOptions } from './registry';
import type { CredentialProviders, CredentialProviderSettings, CredentialProvidersOptions } from './registry/auth/credential-provider';
import type { KeyringEntry, RegistryKeyring } from './registry/auth/keyring';
import type { ArtifactOptions, ArtifactVerification } from './release/kubernetes-artifacts';
import type { FetchSbomOptions } from './release/fetch-sbom';
import type { SbomVerification } from './release/verify-sbom';
import type { ImageExtraction, ParseSpdxOptions, SpdxDocument } from './sbom';
import type { TrustParts } from './trust/compose';
import type { TrustRootSummary } from './trust/describe';
import type { TrustKeys } from './trust/from-keys';
import type { LoadedTrustRoot } from './trust/trusted-root';
import type { TufOptions, TufStatus, TufTrustRoot } from './trust/tuf';
import type { PreparedPolicy, ImageVerifier } from './verify/verifier';
import type { VerificationPolicy } from './policy/policy';
import { lazy } from './util/lazy';

// Parts loaded on first use: importing imgverify stays close to importing @sigstore/verify
// (bench/startup.ts). Their values are exported below as functions that load them when called.
/* eslint-disable @typescript-eslint/no-require-imports -- the lazily loaded parts, see above */
const sbom = lazy(() => require('./sbom') as typeof import('./sbom'));
const releaseArtifacts = lazy(() => require('./release/kubernetes-artifacts') as typeof import('./release/kubernetes-artifacts'));
const releaseFetch = lazy(() => require('./release/fetch-sbom') as typeof import('./release/fetch-sbom'));
const releaseVerify = lazy(() => require('./release/verify-sbom') as typeof import('./release/verify-sbom'));
const netRead = lazy(() => require('./net/read') as typeof import('./net/read'));
const trustDescribe = lazy(() => require('./trust/describe') as typeof import('./trust/describe'));
const trustTuf = lazy(() => require('./trust/tuf') as typeof import('./trust/tuf'));
const trustCompose = lazy(() => require('./trust/compose') as typeof import('./trust/compose'));
const trustFromKeys = lazy(() => require('./trust/from-keys') as typeof import('./trust/from-keys'));
const registryCredentials = lazy(() => require('./registry/auth/credentials') as typeof import('./registry/auth/credentials'));
const registryOptions = lazy(() => require('./registry/options') as typeof import('./registry/options'));
const keyringModule = lazy(() => require('./registry/auth/keyring') as typeof import('./registry/auth/keyring'));
const credentialProviders = lazy(() => require('./registry/auth/credential-provider') as typeof import('./registry/auth/credential-provider'));
/* eslint-enable @typescript-eslint/no-require-imports */

// The verifier
export {
  createVerifier,
  ImageVerifier,
  type AttestationOptions,
  type BlobVerifyOptions,
  type BlobSignature,
  type BlobVerificationResult,
  type BundleArtifact,
  type BundleVerificationResult,
  type VerificationFailure,
  type VerifiedBlob,
  type PreparedPolicy,
  type VerifiedBundle,
  type VerifiedContent,
  type VerifierOptions,
  type VerifyCallOptions,
  type VerifyManyOptions,
} from './verify/verifier';
export type {
  AttestationVerificationResult,
  FailedSignatureResult,
  FailureInfo,
  ImageVerificationResult,
  ReferrerOrigin,
  ReferrerListing,
  ReferrerShape,
  SignatureResult,
  SignatureSource,
  SignerInfo,
  TlogInfo,
  UnverifiedImageResult,
  VerifiedAttestation,
  VerifiedImageResult,
  VerifiedSignatureResult,
} from './verify/types';
export { MAX_BUNDLE_BYTES } from './bundle/parse';

// Policies
export type { ClaimMatchers, IdentityMatcher } from './policy/identity-policy';
export { CERTIFICATE_CLAIM_NAMES, CERTIFICATE_CLAIM_OIDS, type CertificateClaimName, type CertificateClaims } from './policy/certificate-claims';
export type { KeylessPolicy, KeyPolicy, PolicyOptions, SignatureHashAlgorithm, VerificationPolicy } from './policy/policy';
export type { CertificateIdentity, SubjectAlternativeName } from './policy/certificate-identity';
export { PREDICATE_TYPES, predicateTypeURI, type PredicateTypeName } from './attestation/predicate-types';
export {
  compileAttestationCondition,
  compileAttestationConditionFile,
  MAX_CONDITION_COST,
  MAX_CONDITION_MS,
  MAX_CONDITION_OUTPUT,
  MAX_CONDITION_STEPS,
  MAX_STATEMENT_DEPTH,
  type AttestationCondition,
} from './policy/cel';

// Errors
export {
  abortedError,
  categoryOf,
  ERROR_CODES,
  exitCodeFor,
  ImgverifyError,
  isImgverifyError,
  toImgverifyError,
  type ErrorCategory,
  type ErrorCode,
} from './errors';

// Image references
export { DEFAULT_REGISTRY, formatReference, parseReference, repositoryName, withDigest, type ImageReference } from './reference';

// Files and URLs (verify-blob's --signature, --certificate, --bundle)
export type { ReadFileOrUrlOptions } from './net/read';
/** Reads a local file or fetches an https URL (verify-blob's --signature, --certificate, --bundle), size- and time-bounded. */
export function readFileOrUrl(source: string, options: ReadFileOrUrlOptions): Promise<Buffer> {
  return netRead().readFileOrUrl(source, options);
}
export { PUBLIC_GOOD_REKOR_URL } from './rekor/constants';

// Trust material: fixed roots, several roots, TUF-backed roots kept current
export { publicGoodTrustRoot } from './trust/embedded';
export { trustRootFromFile, trustRootFromJSON, trustRootFromText, type LoadedTrustRoot } from './trust/trusted-root';
export { isTrustRootProvider, trustMaterialVersion, type TrustEntry, type TrustRootInput, type TrustRootProvider } from './trust/source';
export {
  DEFAULT_TUF_MAX_AGE_MS,
  defaultTufCacheDir,
  PUBLIC_GOOD_TUF_MIRROR,
  TufTrustRoot,
  type TufOptions,
  type TufRefreshResult,
  type TufRoleStatus,
  type TufStatus,
} from './trust/tuf';
export type { AuthoritySummary, LogSummary, TrustRootSummary, ValidityWindow } from './trust/describe';
/** What a trust root holds (CAs, logs, TSAs with their validity windows) and warnings, as `imgverify trust show` prints it. */
export function describeTrustRoot(root: LoadedTrustRoot, now?: number): TrustRootSummary {
  return trustDescribe().describeTrustRoot(root, now);
}
/**
 * Whether `cacheDir` holds a TUF cache of `initializeTuf`: an initialized one, or one that is
 * damaged or not a folder (`loadTufTrustRoot` then says what is wrong; a caller must not fall
 * back to other trust).
 */
export function hasTufCache(cacheDir: string): boolean {
  return trustTuf().hasTufCache(cacheDir);
}
/** `imgverify initialize`: a TUF update against the mirror, verified by the TUF rules (tuf-js), cached. */
export function initializeTuf(options?: TufOptions): Promise<TufTrustRoot> {
  return trustTuf().initializeTuf(options);
}
/** The trust root of a TUF cache, re-verified offline and refreshed from its mirror when due (unless offline). */
export function loadTufTrustRoot(options?: TufOptions): Promise<TufTrustRoot> {
  return trustTuf().loadTufTrustRoot(options);
}
/** The trusted root of a TUF repository given as files (no network), verified by the TUF rules. */
export function trustRootFromTufRepository(root: Buffer, files: ReadonlyMap<string, Buffer>, options: { readonly source: string; readonly scratchDir: string; readonly targets?: string }): Promise<{ root: LoadedTrustRoot; status: Omit<TufStatus, 'cacheDir' | 'mirror' | 'updatedAt'> }> {
  return trustTuf().trustRootFromTufRepository(root, files, options);
}
// Building blocks of the webhook's TrustRoot documents: trust from PEM keys and certificates, and from parts of several roots.
export { ComposedTrustRoot, type TrustParts } from './trust/compose';
export type { KeysAuthority, KeysLog, TrustKeys } from './trust/from-keys';
/** A trust root made of parts of several (CAs from one, logs from another): the webhook's trustRootRefs. */
export function composeTrustRoot(parts: TrustParts<LoadedTrustRoot>, source: string): LoadedTrustRoot {
  return trustCompose().composeTrustRoot(parts, source);
}
/** A trust root from PEM certificates and keys (a TrustRoot document's sigstoreKeys). */
export function trustRootFromKeys(keys: TrustKeys, source: string): LoadedTrustRoot {
  return trustFromKeys().trustRootFromKeys(keys, source);
}
/** The DER certificates of a PEM text (or base64 of PEM), each checked. */
export function pemCertificates(pem: string, where: string, source: string): Buffer[] {
  return trustFromKeys().pemCertificates(pem, where, source);
}

// Registry access
export { HttpStack } from './registry/transport/http-stack';
export { RegistryClient } from './registry/client';
/** The credential files read by default, in order (REGISTRY_AUTH_FILE, docker config, containers auth.json). */
export function defaultCredentialFiles(env?: Env, dockerConfigPath?: string): CredentialFile[] {
  return registryCredentials().defaultCredentialFiles(env, dockerConfigPath);
}
/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function defaultDockerConfigPath(env?: Env): string {
  return registryCredentials().defaultDockerConfigPath(env);
}
/** One HTTP stack (proxies, CAs, client certificates, connections) for the registries and other fetches (an SBOM URL). */
export function shareHttpStack(options: RegistryClientOptions): { stack: HttpStack; options: RegistryClientOptions } {
  return registryOptions().shareHttpStack(options);
}
/**
 * Kubelet credential provider plugins (KEP-2133) from the kubelet's `CredentialProviderConfig`
 * and plugin folder, checked; for the `credentialProviders` registry option.
 */
export function loadCredentialProviders(settings: CredentialProviderSettings, options?: CredentialProvidersOptions): Promise<CredentialProviders> {
  return credentialProviders().loadCredentialProviders(settings, options);
}
/**
 * The credential entries of a pull secret's docker config (`.dockerconfigjson` or
 * `.dockercfg`), keys as written; throws INVALID_OPTIONS naming `source`, never the content.
 */
export function keyringEntries(text: string, format: 'dockerconfigjson' | 'dockercfg', source: string): KeyringEntry[] {
  return keyringModule().keyringEntries(text, format, source);
}
/** Credentials matched to images as the kubelet matches pull secrets (globs per host label, ports, path prefixes). */
export function registryKeyring(entries: readonly KeyringEntry[]): RegistryKeyring {
  return new (keyringModule().RegistryKeyring)(entries);
}
export type { CredentialProviders, CredentialProviderSettings, CredentialProvidersOptions, KeyringEntry, RegistryKeyring };
export type {
  CallCredentials,
  CredentialCandidate,
  CredentialLookupResult,
  ClientCertificate,
  CredentialFile,
  CredentialFileFormat,
  Env,
  HttpStackOptions,
  ManifestKind,
  ProxySettings,
  BlobOptions,
  CallOptions,
  Descriptor,
  ImageIndexContent,
  ImageManifestContent,
  Manifest,
  ManifestContent,
  ManifestOptions,
  OtherManifestContent,
  Platform,
  Referrers,
  ReferrersOptions,
  RegistryClientOptions,
  RegistryCredentials,
  RepositoryRef,
} from './registry';
export type { FetchedManifest, ReadOptions, ReferrersListing, RegistryReader } from './cosign/registry-reader';

// SBOMs and releases (loaded on first use)
export {
  KUBERNETES_ARTIFACT_IDENTITY,
  KUBERNETES_BINARIES,
  KUBERNETES_DL_BASE_URL,
  KUBERNETES_RELEASE_IDENTITY,
  KUBERNETES_SBOM_BASE_URL,
  kubernetesSbomUrl,
} from './release/kubernetes';
export type { ArtifactOptions, ArtifactVerification } from './release/kubernetes-artifacts';
export type { FetchSbomOptions } from './release/fetch-sbom';
export type { SbomVerification } from './release/verify-sbom';
/** `https://dl.k8s.io/release/<version>/bin/<os>/<arch>/<name>`. */
export function kubernetesBinaryUrl(version: string, platform: string, name: string, baseUrl?: string): string {
  return releaseArtifacts().kubernetesBinaryUrl(version, platform, name, baseUrl);
}
/** Downloads and verifies a Kubernetes release's binaries (their .sig and .cert), as the Kubernetes docs do with cosign verify-blob. */
export function verifyKubernetesBinaries(verifier: ImageVerifier, version: string, platforms: readonly string[], options?: ArtifactOptions & { readonly baseUrl?: string }): Promise<ArtifactVerification[]> {
  return releaseArtifacts().verifyKubernetesBinaries(verifier, version, platforms, options);
}
/** Verifies an SBOM's own signature (`<url>.sig`, `<url>.cert`), as the Kubernetes release publishes them. */
export function verifySbomSignature(verifier: ImageVerifier, sbomUrl: string, sbom: Buffer, options?: ArtifactOptions): Promise<ArtifactVerification> {
  return releaseArtifacts().verifySbomSignature(verifier, sbomUrl, sbom, options);
}
/** An SBOM from a file or an https URL: at most 10 redirects, one deadline for the whole read, the size bound enforced while reading. */
export function readSbom(source: string, options?: FetchSbomOptions): Promise<Buffer> {
  return releaseFetch().readSbom(source, options);
}
/** Verifies every image an SPDX SBOM lists, with bounded concurrency, results as they complete. */
export function verifySbomImages(verifier: ImageVerifier, sbom: string | Uint8Array, policy: VerificationPolicy | PreparedPolicy, options?: { concurrency?: number; parse?: ParseSpdxOptions }): SbomVerification {
  return releaseVerify().verifySbomImages(verifier, sbom, policy, options);
}
export { DEFAULT_MAX_SBOM_BYTES } from './sbom/input';
export type { SbomInputOptions } from './sbom/input';
export type {
  ImageExtraction,
  ImageSourceKind,
  ParseSpdxOptions,
  SbomImage,
  SkippedPackage,
  SpdxChecksum,
  SpdxDocument,
  SpdxExternalDocumentRef,
  SpdxExternalRef,
  SpdxFile,
  SpdxFormat,
  SpdxOtherLicense,
  SpdxPackage,
  SpdxRelationship,
  SpdxSnippet,
} from './sbom';
/** Parses an SPDX 2.x document (tag-value or JSON). Throws SBOM_INVALID naming the line or path. */
export function parseSpdx(input: string | Uint8Array, opts?: ParseSpdxOptions): SpdxDocument {
  return sbom().parseSpdx(input, opts);
}
/** The container images an SPDX document lists (parseSpdx, then imagesFromSpdx). */
export function imagesFromSbom(input: string | Uint8Array, opts?: ParseSpdxOptions): ImageExtraction {
  return sbom().imagesFromSbom(input, opts);
}
/** The container images a parsed SPDX document lists, the image-like packages skipped and why. */
export function imagesFromSpdx(doc: SpdxDocument): ImageExtraction {
  return sbom().imagesFromSpdx(doc);
}
