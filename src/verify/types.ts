/** Results of verification, as the library returns them and the CLI prints them. */
import type { ErrorCategory, ErrorCode, ImgverifyError } from '../errors';
import type { ReferrerListing, ReferrerShape } from '../cosign/discover-referrers';

export type { ReferrerListing, ReferrerShape };
import type { CertificateClaims } from '../policy/certificate-claims';
import type { SubjectAlternativeName } from '../policy/certificate-identity';

/** Where a signature was found. */
export type SignatureSource =
  /** cosign's legacy `sha256-<hex>.sig` tag (one layer per signature). */
  | 'sig-tag'
  /** an OCI 1.1 referrer (cosign v3 bundle), listed by the referrers API or tag schema. */
  | 'referrer';

export interface SignerInfo {
  /** The SAN that satisfied the policy (or the first SAN when no policy was checked). */
  readonly subject?: string;
  readonly subjectAlternativeNames?: readonly SubjectAlternativeName[];
  /** OIDC issuer from the certificate. */
  readonly issuer?: string;
  /**
   * The certificate's Fulcio claims by name (`githubWorkflowRepository`, `sourceRepositoryURI`,
   * `sourceRepositoryIdentifier`, `runnerEnvironment`, ...), when it has any; also when the
   * policy then failed.
   */
  readonly claims?: CertificateClaims;
  /** The claims the policy named and the certificate satisfied, with their values (verified signatures only). */
  readonly verifiedClaims?: CertificateClaims;
  /** For key-based signatures: SHA-256 of the public key's SPKI, hex. */
  readonly publicKeySha256?: string;
}

export interface TlogInfo {
  readonly logIndex: number;
  /** Hex log ID of the Rekor instance. */
  readonly logId: string;
  /** When Rekor integrated the entry (ISO 8601), when the entry has one. */
  readonly integratedTime?: string;
}

export interface FailureInfo {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly message: string;
  /** Structured facts about the failure, when the check gives them (e.g. the digests compared). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** How a referrer signature was found: the listing, and the shape it was stored in (cosign/discover-referrers.ts). */
export interface ReferrerOrigin {
  /** The OCI 1.1 referrers API, or the `sha256-<hex>` referrers tag (registries without the API). */
  readonly listing: ReferrerListing;
  /** `artifact`, `untyped-descriptor` (cosign 3 via go-containerregistry < v0.22.1), `bundle-layer` (cosign 2.5/2.6 `--new-bundle-format`), `config-typed`; absent when the manifest could not be read. */
  readonly shape?: ReferrerShape;
}

export interface SignatureResult {
  readonly source: SignatureSource;
  /** Where exactly: e.g. `localhost:5000/app:sha256-….sig layer 0`. */
  readonly location: string;
  /** For `source: 'referrer'`: which listing and shape it came from. */
  readonly referrer?: ReferrerOrigin;
  readonly verified: boolean;
  /**
   * Who signed: present once the trust checks and the signature passed, also when a later
   * step (binding, policy) failed — e.g. the identity that did not match the policy.
   */
  readonly signer?: SignerInfo;
  /** The trust root the signature verified under (its `source`: `embedded public-good`, a file path, a TUF mirror, ...). */
  readonly trustRoot?: string;
  /** The image digest the signed payload binds. */
  readonly signedDigest?: string;
  /** `critical.identity.docker-reference` of a simple-signing payload (informational). */
  readonly dockerReference?: string;
  /** The transparency-log entry, once verified. */
  readonly tlog?: TlogInfo;
  /** The earliest verified signing time (RFC 3161 timestamp or Rekor integration time), ISO 8601. */
  readonly signedAt?: string;
  /** The failed check, when `verified` is false. */
  readonly failure?: FailureInfo;
}

export interface ImageVerificationResult {
  /** The reference as given. */
  readonly image: string;
  /** The normalised reference (`registry/repo:tag` or `@digest`). */
  readonly reference?: string;
  /** The manifest digest that was verified (resolved from the tag, or given). */
  readonly digest?: string;
  /** Media type of the manifest the tag resolved to (image manifest or index); absent for a digest reference, which is not fetched. */
  readonly mediaType?: string;
  readonly verified: boolean;
  /** Every signature found, with its outcome. */
  readonly signatures: readonly SignatureResult[];
  /** Why the image is not verified (absent when verified). */
  readonly error?: ImgverifyError;
}

export function failureInfo(err: ImgverifyError): FailureInfo {
  return { code: err.code, category: err.category, message: err.message, ...(err.details ? { details: err.details } : {}) };
}

/** A verified attestation: its in-toto statement and the signature that vouches for it. */
export interface VerifiedAttestation {
  readonly predicateType: string;
  /** The in-toto statement (parsed JSON of the signed payload). */
  readonly statement: Readonly<Record<string, unknown>>;
  readonly signature: SignatureResult;
}

export interface AttestationVerificationResult extends ImageVerificationResult {
  /** Verified statements of the requested predicate type (empty unless `verified`). */
  readonly attestations: readonly VerifiedAttestation[];
}
