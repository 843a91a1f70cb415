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
 */
export { createVerifier, ImageVerifier, type PreparedPolicy, type VerifierOptions } from './verify/verifier';
export type { BundleArtifact, VerifiedBundle, VerifiedContent } from './verify/bundle';
export type {
  AttestationVerificationResult,
  VerifiedAttestation,
  FailureInfo,
  ImageVerificationResult,
  ReferrerOrigin,
  SignatureResult,
  SignatureSource,
  SignerInfo,
  TlogInfo,
} from './verify/types';
export type { IdentityMatcher } from './policy/identity-policy';
export type { KeylessPolicy, KeyPolicy, PolicyOptions, VerificationPolicy } from './policy/policy';
export type { CertificateIdentity, SubjectAlternativeName } from './policy/certificate-identity';
export {
  categoryOf,
  exitCodeFor,
  ImgverifyError,
  isImgverifyError,
  type ErrorCategory,
  type ErrorCode,
} from './errors';
export {
  formatReference,
  parseReference,
  repositoryName,
  withDigest,
  type ImageReference,
} from './reference';
export { publicGoodTrustRoot, trustRootFromFile, trustRootFromJSON, type LoadedTrustRoot } from './trust';
export {
  HttpStack,
  RegistryClient,
  shareHttpStack,
  type ClientCertificate,
  type ProxySettings,
  type RegistryClientOptions,
  type RegistryCredentials,
} from './registry';
export {
  KUBERNETES_RELEASE_IDENTITY,
  KUBERNETES_SBOM_BASE_URL,
  kubernetesSbomUrl,
  readSbom,
  verifySbomImages,
  type FetchSbomOptions,
  type SbomVerification,
} from './release';
export { extractImages, imagesFromSbom, parseSpdx, type ImageExtraction, type SbomImage, type SpdxDocument } from './sbom';
export { PREDICATE_TYPES, predicateTypeURI } from './attestation/predicate-types';
/** The admission webhook (server, ClusterImagePolicy evaluation), for embedding. */
export * as webhook from './webhook';
