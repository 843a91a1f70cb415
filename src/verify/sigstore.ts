/**
 * The one place that calls `@sigstore/verify`: it runs the certificate chain (at the
 * signing time), SCT, transparency-log (SET / inclusion proof + checkpoint, body) and
 * signature checks, and its errors are translated to our stable codes here.
 */
import { PolicyError, VerificationError, Verifier, type SignedEntity, type Signer, type TrustMaterial } from '@sigstore/verify';
import { ImgverifyError, toImgverifyError, type ErrorCode } from '../errors';
import { forVerification } from '../trust/cached-certificate';
import { errorMessage } from '../util/describe';
import { withExplicitDigests } from './explicit-digest';

export interface SigstoreCheckOptions {
  /** Transparency-log entries required (1; 0 with --insecure-ignore-tlog). */
  readonly tlogThreshold: number;
  /** Embedded SCTs required for certificates (1; 0 with --insecure-ignore-sct or for keys). */
  readonly ctlogThreshold: number;
  /** Verified timestamps required (log integration time or RFC 3161). */
  readonly timestampThreshold: number;
}

function codeFor(err: VerificationError): ErrorCode {
  switch (err.code) {
    case 'CERTIFICATE_ERROR':
      return /\bSCTs?\b/.test(err.message) ? 'SCT_INVALID' : 'CERTIFICATE_CHAIN_INVALID';
    case 'TLOG_INCLUSION_PROMISE_ERROR':
      return 'TLOG_INCLUSION_PROMISE_INVALID';
    case 'TLOG_INCLUSION_PROOF_ERROR':
      return 'TLOG_INCLUSION_PROOF_INVALID';
    case 'TLOG_MISSING_INCLUSION_ERROR':
    case 'TLOG_ERROR':
      return /duplicate/.test(err.message) ? 'TLOG_BODY_MISMATCH' : 'TLOG_ENTRY_MISSING';
    case 'TLOG_BODY_ERROR':
      return 'TLOG_BODY_MISMATCH';
    case 'SIGNATURE_ERROR':
      return 'SIGNATURE_INVALID';
    case 'TIMESTAMP_ERROR':
      return 'TIMESTAMP_INVALID';
    case 'PUBLIC_KEY_ERROR':
      return 'KEY_MISMATCH';
    default:
      return 'SIGNATURE_MALFORMED';
  }
}

const CHECK_NAMES: Partial<Record<ErrorCode, string>> = {
  CERTIFICATE_CHAIN_INVALID: 'certificate chain',
  SCT_INVALID: 'certificate transparency (SCT)',
  TLOG_INCLUSION_PROMISE_INVALID: 'Rekor signed entry timestamp (SET)',
  TLOG_INCLUSION_PROOF_INVALID: 'Rekor inclusion proof',
  TLOG_ENTRY_MISSING: 'Rekor entry',
  TLOG_BODY_MISMATCH: 'Rekor entry body',
  SIGNATURE_INVALID: 'signature',
  TIMESTAMP_INVALID: 'timestamp',
  KEY_MISMATCH: 'public key',
};

/** Translates anything thrown while verifying into an ImgverifyError with a stable code. */
function translateSigstoreError(err: unknown): ImgverifyError {
  if (err instanceof ImgverifyError) return err;
  if (err instanceof VerificationError) {
    const code = codeFor(err);
    const cause = err.cause instanceof Error && err.cause.message !== err.message ? ` (${err.cause.message})` : '';
    return new ImgverifyError(code, `${CHECK_NAMES[code] ?? 'verification'} check failed: ${err.message}${cause}`, { cause: err });
  }
  if (err instanceof PolicyError) {
    return new ImgverifyError('IDENTITY_MISMATCH', err.message, { cause: err });
  }
  // A TypeError or ReferenceError is a bug (ours or the library's), whatever the input: never
  // reported as a verdict about the signature.
  if (err instanceof TypeError || err instanceof ReferenceError) return toImgverifyError(err);
  // ASN.1, DER and key parsing errors on hostile input (plain Errors from @sigstore/core) end up here.
  const message = errorMessage(err);
  return new ImgverifyError('SIGNATURE_MALFORMED', `signature material could not be processed: ${message}`, { cause: err });
}

/**
 * The entity with its leaf certificate as a CachedCertificate (the same parsed tree, not an
 * anchor): the library re-derives the leaf's encodings, key and extensions a dozen times
 * per verification; this computes each once (../trust/cached-certificate.ts). Every check
 * is still made, with the same results.
 */
function withCachedLeaf(entity: SignedEntity): SignedEntity {
  if (entity.key.$case !== 'certificate') return entity;
  return { ...entity, key: { $case: 'certificate', certificate: forVerification(entity.key.certificate) } };
}

/** A `@sigstore/verify` Verifier per (trust material, thresholds), reused across signatures. */
export class SigstoreChecks {
  private readonly verifier: Verifier;

  constructor(material: TrustMaterial, options: SigstoreCheckOptions) {
    this.verifier = new Verifier(material, options);
  }

  /** Runs every cryptographic check; throws ImgverifyError naming the failed check. */
  verify(entity: SignedEntity): Signer {
    try {
      // The library's calls that let the runtime choose a digest name Node's (./explicit-digest.ts).
      return withExplicitDigests(() => this.verifier.verify(withCachedLeaf(entity)));
    } catch (err) {
      throw translateSigstoreError(err);
    }
  }
}
