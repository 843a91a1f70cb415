/**
 * `imgverify/webhook`: the Kubernetes admission webhook, for embedding (the CLI's `imgverify
 * webhook` and `imgverify policy test` use exactly this). Documented in docs/webhook.md
 * ("Embedding"); the surface is locked by the API report in api/imgverify-webhook.api.md.
 *
 *   import { startWebhookServer } from 'imgverify/webhook';
 *   const server = await startWebhookServer({ policiesDir, tlsCertFile, tlsKeyFile });
 *
 * The server's building blocks (AdmissionReview parsing, JSON patches, metrics, caches) are
 * internal.
 *
 * @packageDocumentation
 */
// First: on an unsupported Node.js version, fail here with a clear message (not deep inside a dependency).
import '../util/require-node';
// Then: its optional dependencies are installed, or DEPENDENCY_MISSING names the one to install.
import './optional-dependencies';
export { startWebhookServer } from './start';
export {
  ADMISSION_LIMITS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_PORT,
  isWebhookWorker,
  jsonLogger,
  MAX_WORKERS,
  METRICS_PATH,
  type KubernetesSourceOptions,
  type Logger,
  type LogLevel,
  type RunningWebhookServer,
  type WebhookAuditOptions,
  type WebhookServerOptions,
} from './server';
export { loadPolicies, MAX_POLICY_FILE_BYTES, type PolicySet } from './policy-folder';
export { refuseEmptyPolicySet } from './empty-policies';
export { parseClusterImagePolicies, type PolicyParseResult } from './policy-documents';
export type { PolicyLocation, PolicyWarning } from './crd-document';
export {
  API_VERSIONS,
  IMAGE_POLICY_API_VERSION,
  type AttestationRequirement,
  type Authority,
  type ClusterImagePolicy,
  type HashAlgorithm,
  type KeyAuthority,
  type KeylessAuthority,
  type KeylessIdentity,
  type LabelSelector,
  type LabelSelectorRequirement,
  type MatchResource,
  type PolicyMode,
  type AuthoritySource,
  type SignatureFormat,
  type StaticAction,
  type StaticAuthority,
  type TrustRootRefs,
} from './cluster-image-policy-types';
export {
  EVALUATOR_DEFAULTS,
  PolicyEvaluator,
  VerificationRun,
  type EvaluateOptions,
  type EvaluationCredentials,
  type PolicyEvaluatorOptions,
  type SignatureSecrets,
} from './evaluate';
export { evaluateWorkload, type Workload, type WorkloadEvaluation, type WorkloadEvaluationOptions } from './workload';
export {
  MAX_MANIFEST_DOCUMENTS,
  manifestCredentialSource,
  manifestName,
  manifestWorkload,
  objectKind,
  readManifests,
  type ManifestError,
  type ManifestObject,
  type ManifestStream,
  type SourcePosition,
} from './manifests';
export type { ContainerField, ContainerImage, GroupVersionKind, GroupVersionResource } from './admission';
export { auditPods, DEFAULT_AUDIT_CONCURRENCY, type AuditCounts, type AuditedImage, type AuditOptions, type AuditResult, type PodAudit } from './audit';
export { auditCluster, type ClusterAuditOptions, type ClusterAuditResult } from './audit-cluster';
export { runningImages, runningReference, type ImageSource, type RunningImage } from './running-images';
export { auditReports, podResult, REPORT_API_VERSION, REPORT_KIND, REPORT_NAME, type ReportObject, type ReportResult, type ReportResultValue } from './reports';
export { TAG_CACHE_DEFAULTS, type TagCacheOptions, type TagRefreshResult } from './tag-cache';
export type { MatchedObject } from './resource-match';
export { PULL_SECRET_DEFAULTS, PullSecretCredentials, signaturePullSecretErrors, type ObjectCredentialSource, type PullSecretOptions } from './pull-secrets';
export {
  decisionReason,
  NO_MATCH_ACTIONS,
  type AdmissionSummary,
  type AuthorityKind,
  type AuthorityOutcome,
  type ImageDecision,
  type NoMatchAction,
  type PolicyOutcome,
  type Verdict,
} from './outcomes';
export type { AttestationsResult, PrepareOptions, SignatureReadOptions, VerificationBackend, VerificationSession } from './backend';
export { VerifierBackend, type VerifierBackendOptions } from './verifier-backend';
export { TrustRootSet, type TrustRootSetOptions } from './trust-root-set';
export { TRUST_ROOT_API_VERSION, type TrustRootDocument, type TrustRootSpec } from './trust-root-types';
// Types of the root entry that the webhook's signatures name, so that a consumer of this entry
// can name them too (the same types as `import type { … } from 'imgverify'`).
export type {
  AttestationCondition,
  CertificateClaimName,
  ClaimMatchers,
  ErrorCode,
  ImageReference,
  ImageVerificationResult,
  ImageVerifier,
  ImgverifyError,
  LoadedTrustRoot,
  PreparedPolicy,
  TrustKeys,
  KeysAuthority,
  KeysLog,
  TrustRootInput,
  TrustRootProvider,
  RegistryClientOptions,
  SignatureResult,
  VerificationPolicy,
} from '../index';
