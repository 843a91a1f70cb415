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

// The verifier
export {
  createVerifier,
  ImageVerifier,
  type AttestationOptions,
  type BlobVerifyOptions,
  type BlobSignature,
  type BundleArtifact,
  type VerifiedBlob,
  type PreparedPolicy,
  type VerifiedBundle,
  type VerifiedContent,
  type VerifierOptions,
} from './verify/verifier';
export type {
  AttestationVerificationResult,
  FailureInfo,
  ImageVerificationResult,
  ReferrerOrigin,
  ReferrerListing,
  ReferrerShape,
  SignatureResult,
  SignatureSource,
  SignerInfo,
  TlogInfo,
  VerifiedAttestation,
} from './verify/types';
export { MAX_BUNDLE_BYTES } from './bundle/parse';

// Policies
export type { ClaimMatchers, IdentityMatcher } from './policy/identity-policy';
export { CERTIFICATE_CLAIM_NAMES, CERTIFICATE_CLAIM_OIDS, type CertificateClaimName, type CertificateClaims } from './policy/certificate-claims';
export type { KeylessPolicy, KeyPolicy, PolicyOptions, VerificationPolicy } from './policy/policy';
export type { CertificateIdentity, SubjectAlternativeName } from './policy/certificate-identity';
export { PREDICATE_TYPES, predicateTypeURI, type PredicateTypeName } from './attestation/predicate-types';
export {
  compileAttestationCondition,
  compileAttestationConditionFile,
  MAX_CONDITION_COST,
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
export { readFileOrUrl, type ReadFileOrUrlOptions } from './net/read';
export { PUBLIC_GOOD_REKOR_URL } from './rekor/client';

// Trust material: fixed roots, several roots, TUF-backed roots kept current
export {
  DEFAULT_TUF_MAX_AGE_MS,
  defaultTufCacheDir,
  describeTrustRoot,
  hasTufCache,
  initializeTuf,
  isTrustRootProvider,
  loadTufTrustRoot,
  publicGoodTrustRoot,
  PUBLIC_GOOD_TUF_MIRROR,
  trustRootFromFile,
  trustRootFromJSON,
  trustRootFromText,
  trustRootFromTufRepository,
  TufTrustRoot,
  type AuthoritySummary,
  type LoadedTrustRoot,
  type LogSummary,
  type TrustRootInput,
  type TrustRootProvider,
  type TrustRootSummary,
  type TufOptions,
  type TufRefreshResult,
  type TufRoleStatus,
  type TufStatus,
  type ValidityWindow,
} from './trust';
// Building blocks of the webhook's TrustRoot documents: trust from PEM keys and certificates, and from parts of several roots.
export { ComposedTrustRoot, composeTrustRoot, trustRootFromKeys, type KeysAuthority, type KeysLog, type TrustKeys, type TrustEntry, type TrustParts } from './trust';
export { pemCertificates } from './trust/from-keys';

// Registry access
export { defaultCredentialFiles, defaultDockerConfigPath, HttpStack, RegistryClient, shareHttpStack } from './registry';
export type {
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

// SBOMs and releases
export {
  KUBERNETES_ARTIFACT_IDENTITY,
  KUBERNETES_BINARIES,
  KUBERNETES_DL_BASE_URL,
  kubernetesBinaryUrl,
  verifyKubernetesBinaries,
  verifySbomSignature,
  type ArtifactOptions,
  type ArtifactVerification,
  KUBERNETES_RELEASE_IDENTITY,
  KUBERNETES_SBOM_BASE_URL,
  kubernetesSbomUrl,
  readSbom,
  verifySbomImages,
  type FetchSbomOptions,
  type SbomVerification,
} from './release';
export {
  DEFAULT_MAX_SBOM_BYTES,
  imagesFromSbom,
  imagesFromSpdx,
  parseSpdx,
  type ImageExtraction,
  type ImageSourceKind,
  type ParseSpdxOptions,
  type SbomImage,
  type SbomInputOptions,
  type SkippedPackage,
  type SpdxChecksum,
  type SpdxDocument,
  type SpdxExternalDocumentRef,
  type SpdxExternalRef,
  type SpdxFile,
  type SpdxFormat,
  type SpdxOtherLicense,
  type SpdxPackage,
  type SpdxRelationship,
  type SpdxSnippet,
} from './sbom';
