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

/** What every signature result holds: where it was found, and what was established before any failure. */
export interface SignatureResultFields {
  readonly source: SignatureSource;
  /** Where exactly: e.g. `localhost:5000/app:sha256-….sig layer 0`. */
  readonly location: string;
  /** For `source: 'referrer'`: which listing and shape it came from. */
  readonly referrer?: ReferrerOrigin;
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
}

/** A signature that passed every check and the policy. */
export interface VerifiedSignatureResult extends SignatureResultFields {
  readonly verified: true;
  readonly signer: SignerInfo;
  readonly trustRoot: string;
  readonly failure?: undefined;
}

/** A signature that did not: `failure` is the first check that failed. */
export interface FailedSignatureResult extends SignatureResultFields {
  readonly verified: false;
  readonly failure: FailureInfo;
}

/** One signature's outcome: narrow on `verified`. */
export type SignatureResult = VerifiedSignatureResult | FailedSignatureResult;

/** What every image result holds. */
export interface ImageResultFields {
  /** The reference as given. */
  readonly image: string;
  /** The normalised reference (`registry/repo:tag` or `@digest`). */
  readonly reference?: string;
  /** The manifest digest that was verified (resolved from the tag, or given). */
  readonly digest?: string;
  /**
   * The reference pinned to that digest: `registry/repo:tag@sha256:…` (the tag kept), or
   * `registry/repo@sha256:…` for a digest reference. What to deploy.
   */
  readonly pinnedReference?: string;
  /** Media type of the manifest the tag resolved to (image manifest or index); absent for a digest reference, which is not fetched. */
  readonly mediaType?: string;
  /** Every signature found, with its outcome. */
  readonly signatures: readonly SignatureResult[];
}

/** An image with at least one signature that passed every check and the policy. */
export interface VerifiedImageResult extends ImageResultFields {
  readonly verified: true;
  readonly reference: string;
  readonly digest: string;
  readonly pinnedReference: string;
  /** Who signed: the signer of the first verified signature (`signatures` lists every one). */
  readonly signer: SignerInfo;
  readonly error?: undefined;
}

/** An image that is not verified, and why. */
export interface UnverifiedImageResult extends ImageResultFields {
  readonly verified: false;
  /** Why: a failed check (verification), a registry that did not answer (operational), a bad reference (usage), ... */
  readonly error: ImgverifyError;
  readonly signer?: undefined;
}

/** The outcome of verifying one image: narrow on `verified` (`if (!r.verified) throw r.error`). */
export type ImageVerificationResult = VerifiedImageResult | UnverifiedImageResult;

export function failureInfo(err: ImgverifyError): FailureInfo {
  return { code: err.code, category: err.category, message: err.message, ...(err.details ? { details: err.details } : {}) };
}

/** A verified attestation: its in-toto statement and the signature that vouches for it. */
export interface VerifiedAttestation {
  readonly predicateType: string;
  /** The in-toto statement (parsed JSON of the signed payload). */
  readonly statement: Readonly<Record<string, unknown>>;
  readonly signature: VerifiedSignatureResult;
}

/** The outcome of verifying an image's attestations: an image result with the verified statements (empty unless `verified`). */
export type AttestationVerificationResult = ImageVerificationResult & {
  readonly attestations: readonly VerifiedAttestation[];
};
