/**
 * Typed errors with stable codes.
 *
 * Callers branch on `code` (a closed union, stable across releases) or on `category`
 * (which decides the CLI exit status); people read `message`, which always says which
 * check failed and why.
 */
import { errorMessage } from './util/describe';

/** What kind of failure a code is; decides the CLI exit status (2, 1, 3, 4). */
export type ErrorCategory = 'usage' | 'verification' | 'operational' | 'internal';

/** Every error code and its category (decides the CLI exit status). */
export const ERROR_CODES = {
  // --- usage and configuration (exit 2) ---
  /** An image reference does not follow the docker/distribution grammar. */
  INVALID_REFERENCE: 'usage',
  /** Options given to the library or the CLI are wrong or contradictory. */
  INVALID_OPTIONS: 'usage',
  /** A verification policy (identity, issuer, regexp) is malformed. */
  INVALID_POLICY: 'usage',
  /** Trust material (trusted_root.json) is unreadable or malformed. */
  TRUST_ROOT_INVALID: 'usage',
  /** A public key given for key-based verification is unreadable or unsupported. */
  KEY_INVALID: 'usage',
  /** Plain http was refused for a registry that is not loopback and not allowed. */
  INSECURE_REGISTRY_REFUSED: 'usage',
  /** An SBOM cannot be used: not SPDX tag-value or JSON, malformed, too large, not UTF-8, or a plain-http URL. */
  SBOM_INVALID: 'usage',
  /** An SBOM lists no container images, so there is nothing to verify. */
  SBOM_NO_IMAGES: 'usage',
  /** A TUF cache was asked for (--offline, --tuf-cache) where none was initialized (imgverify initialize). */
  TUF_NOT_INITIALIZED: 'usage',
  /**
   * The JavaScript runtime cannot make a check imgverify needs: its self-test on a known-good
   * signature failed (docs/runtimes.md). Nothing was verified; use a runtime imgverify supports.
   */
  RUNTIME_UNSUPPORTED: 'usage',
  /** A feature needs an optional package that is not installed (the message names it: `npm install <name>`). */
  DEPENDENCY_MISSING: 'usage',

  // --- operational (exit 3): the answer could not be obtained ---
  /** The registry could not be reached (DNS, connection refused, TLS handshake). */
  REGISTRY_UNREACHABLE: 'operational',
  /** The registry did not answer in time. */
  REGISTRY_TIMEOUT: 'operational',
  /** The registry refused our credentials or token. */
  REGISTRY_AUTH_FAILED: 'operational',
  /** The registry answered with an unexpected status or a malformed protocol response. */
  REGISTRY_ERROR: 'operational',
  /** The image (tag or digest) does not exist in the registry. */
  IMAGE_NOT_FOUND: 'operational',
  /** A network resource (SBOM URL) could not be fetched. */
  FETCH_FAILED: 'operational',
  /** The caller aborted the operation (an AbortSignal), or the process is shutting down. */
  ABORTED: 'operational',
  /** The TUF mirror did not answer (connection, timeout, HTTP error, a file it should have is missing). */
  TUF_MIRROR_UNREACHABLE: 'operational',
  /** The cached TUF metadata has expired and no update could be made (offline, or the mirror failed). */
  TUF_METADATA_EXPIRED: 'operational',

  // --- internal (exit 4): a bug in imgverify, never a verdict about the input ---
  /** An unexpected exception: a bug, to be reported. */
  INTERNAL_ERROR: 'internal',

  // --- verification (exit 1): the content is not what it must be ---
  /** Bytes received do not hash to the digest they were asked for or announced with. */
  DIGEST_MISMATCH: 'verification',
  /** A manifest or blob is larger than the configured limit. */
  SIZE_LIMIT_EXCEEDED: 'verification',
  /** A manifest or artifact fetched from the registry is not well-formed. */
  MALFORMED_CONTENT: 'verification',
  /** No signature artifacts exist for the digest. */
  NO_SIGNATURES: 'verification',
  /** Signatures exist but none passed every check and the policy. */
  NO_MATCHING_SIGNATURES: 'verification',
  /**
   * TUF metadata or a target from the mirror does not verify by the TUF rules: a bad signature
   * or too few, a rollback, expired metadata served as new, a target whose hash or length
   * differs, content that is not TUF metadata. The trust in use is left as it was.
   */
  TUF_METADATA_INVALID: 'verification',

  // per-signature checks
  /** A signature artifact is malformed (bad base64, bad PEM, missing annotation). */
  SIGNATURE_MALFORMED: 'verification',
  /** The certificate does not chain to a trusted Fulcio CA at signing time. */
  CERTIFICATE_CHAIN_INVALID: 'verification',
  /** The certificate's embedded SCT is missing or not from a trusted CT log. */
  SCT_INVALID: 'verification',
  /** No transparency-log entry was supplied where one is required. */
  TLOG_ENTRY_MISSING: 'verification',
  /** The signed entry timestamp (SET) is not signed by a trusted Rekor key. */
  TLOG_INCLUSION_PROMISE_INVALID: 'verification',
  /** The inclusion proof or its checkpoint does not verify. */
  TLOG_INCLUSION_PROOF_INVALID: 'verification',
  /** The Rekor entry body does not match the signature, key/certificate or payload hash. */
  TLOG_BODY_MISMATCH: 'verification',
  /** The signature over the payload does not verify with the signer's key. */
  SIGNATURE_INVALID: 'verification',
  /** A trusted timestamp (RFC 3161 or log integration time) does not verify. */
  TIMESTAMP_INVALID: 'verification',
  /** The signed payload is not a well-formed simple-signing or in-toto document. */
  PAYLOAD_INVALID: 'verification',
  /** The signed payload binds another image digest than the one being verified. */
  PAYLOAD_DIGEST_MISMATCH: 'verification',
  /** The certificate identity (SAN) does not satisfy the policy. */
  IDENTITY_MISMATCH: 'verification',
  /** The OIDC issuer of the certificate does not satisfy the policy. */
  ISSUER_MISMATCH: 'verification',
  /** The certificate lacks (or has an unreadable) Fulcio claim the policy names, e.g. sourceRepositoryIdentifier. */
  CLAIM_MISSING: 'verification',
  /** A Fulcio claim of the certificate (e.g. sourceRepositoryRef) does not satisfy the policy. */
  CLAIM_MISMATCH: 'verification',
  /** The signature was not made by the public key given. */
  KEY_MISMATCH: 'verification',
  /** An attestation does not have the requested predicate type. */
  PREDICATE_TYPE_MISMATCH: 'verification',
  /** A verified attestation does not satisfy a condition (CEL expression) on what it says. */
  ATTESTATION_CONDITION_FAILED: 'verification',
} as const satisfies Record<string, ErrorCategory>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function categoryOf(code: ErrorCode): ErrorCategory {
  return ERROR_CODES[code];
}

export class ImgverifyError extends Error {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  /** Structured facts about the failure (digests compared, status codes, ...). */
  readonly details?: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ImgverifyError';
    this.code = code;
    this.category = ERROR_CODES[code];
    if (options.details) this.details = Object.freeze({ ...options.details });
  }

  toJSON(): { code: ErrorCode; category: ErrorCategory; message: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      category: this.category,
      message: this.message,
      ...(this.details ? { details: { ...this.details } } : {}),
    };
  }
}

export function isImgverifyError(err: unknown): err is ImgverifyError {
  return err instanceof ImgverifyError;
}

/**
 * The one way a thrown value becomes an ImgverifyError: an ImgverifyError stays itself; anything
 * else was not anticipated by the code that threw it, so it is a bug (INTERNAL_ERROR, exit 4),
 * never a verdict about the input or the registry.
 */
export function toImgverifyError(err: unknown): ImgverifyError {
  if (err instanceof ImgverifyError) return err;
  const what = err instanceof Error ? `${typeof err.name === 'string' ? err.name : 'Error'}: ${errorMessage(err)}` : errorMessage(err);
  return new ImgverifyError('INTERNAL_ERROR', `internal error, a bug in imgverify (please report it with this message): ${what}`, {
    cause: err,
  });
}

/** The error for an aborted operation: the signal's reason when it is an ImgverifyError, else ABORTED. */
export function abortedError(reason: unknown): ImgverifyError {
  if (reason instanceof ImgverifyError) return reason;
  // An Error or DOMException (also from another realm), a string, or nothing useful.
  const message: unknown = typeof reason === 'object' && reason !== null ? (reason as { message?: unknown }).message : reason;
  const why = typeof message === 'string' && message !== '' ? message : 'aborted';
  return new ImgverifyError('ABORTED', `the operation was aborted: ${why}`, { cause: reason });
}

/** Exit status the CLI uses for an error category. */
export function exitCodeFor(category: ErrorCategory): 1 | 2 | 3 | 4 {
  switch (category) {
    case 'verification':
      return 1;
    case 'usage':
      return 2;
    case 'operational':
      return 3;
    case 'internal':
      return 4;
  }
}
