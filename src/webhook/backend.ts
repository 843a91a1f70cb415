/**
 * What policy evaluation (./evaluate) needs from a verifier: resolve a tag, verify the signatures
 * and attestations of a digest against a compiled policy. No I/O in ./evaluate: the registry and
 * the verifier come in through this interface (./verifier-backend implements it over the library).
 */
import type { AttestationCondition, CallCredentials, ImageReference, ImageVerificationResult, PreparedPolicy, SignatureResult, TrustRootInput, VerificationPolicy } from '../index';

/** What `ImageVerifier.verifyAttestations` resolves to (only the fields used here). */
export interface AttestationsResult extends ImageVerificationResult {
  readonly attestations: ReadonlyArray<{ readonly predicateType: string; readonly signature: SignatureResult }>;
}

/**
 * The verification work for one image in one admission request. Implementations share
 * registry fetches between the calls of a session and abort them with its signal.
 */
export interface VerificationSession {
  /** The manifest digest a tag points to now (one manifest GET). */
  resolve(ref: ImageReference): Promise<string>;
  /** Signatures of the digest-pinned reference against a prepared policy. */
  verify(pinned: ImageReference, policy: PreparedPolicy): Promise<ImageVerificationResult>;
  /** Attestations of one predicate type (URI), satisfying a CEL condition when one is given. */
  verifyAttestations(pinned: ImageReference, policy: PreparedPolicy, options: { predicateType: string; condition?: AttestationCondition }): Promise<AttestationsResult>;
}

/** Where a prepared policy's signatures are looked up. */
export interface PrepareOptions {
  /** The repository holding the `.sig`/`.att` tags (a ClusterImagePolicy `source[].oci`; cosign's COSIGN_REPOSITORY). */
  readonly signatureRepository?: string;
  /** A prefix of those tags (`source[].tagPrefix`; cosign's `--attachment-tag-prefix`). */
  readonly attachmentTagPrefix?: string;
}

export interface VerificationBackend {
  /**
   * Compiles a policy once (throws INVALID_POLICY / KEY_INVALID / INVALID_OPTIONS), to be
   * verified under `trust` (an authority's TrustRoots) or, without it, the backend's default
   * trust, with its signatures looked up where `options` says.
   */
  prepare(policy: VerificationPolicy, trust?: readonly TrustRootInput[], options?: PrepareOptions): PreparedPolicy;
  /** The default trust, as loaded roots and providers (for authorities that combine it with a `ca-cert`). */
  defaultTrust?(): readonly TrustRootInput[];
  /**
   * A session whose registry requests are aborted by `signal` and carry `credentials` (the
   * admitted object's pull secrets), tried before the backend's own; they are used for this
   * session's requests only.
   */
  session(signal: AbortSignal, credentials?: CallCredentials): VerificationSession;
}
