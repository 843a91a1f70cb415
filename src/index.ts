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
// The functions whose modules load on first call (importing imgverify stays close to importing
// @sigstore/verify, bench/startup.ts): wrappers generated from their own declarations, listed in
// scripts/lazy-exports.cjs.
export * from './lazy-exports';

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
  ImageResultFields,
  ImageVerificationResult,
  ReferrerOrigin,
  ReferrerListing,
  ReferrerShape,
  SignatureResult,
  SignatureResultFields,
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
export { PUBLIC_GOOD_REKOR_URL } from './rekor/constants';

// Trust material: fixed roots, several roots, TUF-backed roots kept current
export { publicGoodTrustRoot } from './trust/embedded';
export { trustRootFromFile, trustRootFromJSON, trustRootFromText, type LoadedTrustRoot } from './trust/trusted-root';
export { isTrustRootProvider, trustMaterialVersion, type TrustEntry, type TrustRootInput, type TrustRootProvider } from './trust/source';
export {
  DEFAULT_TUF_MAX_AGE_MS,
  defaultTufCacheDir,
  hasTufCache,
  initializeTuf,
  loadTufTrustRoot,
  PUBLIC_GOOD_TUF_MIRROR,
  trustRootFromTufRepository,
  TufTrustRoot,
  type TufOptions,
  type TufRefreshResult,
  type TufRoleStatus,
  type TufStatus,
} from './trust/tuf';
export type { AuthoritySummary, LogSummary, TrustRootSummary, ValidityWindow } from './trust/describe';
// Building blocks of the webhook's TrustRoot documents: trust from PEM keys and certificates, and from parts of several roots.
export { ComposedTrustRoot, composeTrustRoot, type TrustParts } from './trust/compose';
export type { KeysAuthority, KeysLog, TrustKeys } from './trust/from-keys';

// Registry access
export { HttpStack } from './registry/transport/http-stack';
export { RegistryClient } from './registry/client';
export type { CredentialProviders, CredentialProviderSettings, CredentialProvidersOptions } from './registry/auth/credential-provider';
export type { KeyringEntry, RegistryKeyring } from './registry/auth/keyring';
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
