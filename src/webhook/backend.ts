/**
 * What policy evaluation (./evaluate) needs from a verifier: resolve a tag, verify the signatures
 * and attestations of a digest against a compiled policy. No I/O in ./evaluate: the registry and
 * the verifier come in through this interface (./verifier-backend implements it over the library).
 */
import type {
  AttestationCondition,
  CallCredentials,
  ImageReference,
  ImageVerificationResult,
  PreparedPolicy,
  SignatureResult,
  TrustRootInput,
  VerificationPolicy,
} from '../index';

/** What `ImageVerifier.verifyAttestations` resolves to (only the fields used here). */
export type AttestationsResult = ImageVerificationResult & {
  readonly attestations: ReadonlyArray<{ readonly predicateType: string; readonly signature: SignatureResult }>;
};

/** Registry credentials for one evaluation: an admitted object's pull secrets, or a source's signaturePullSecrets (./pull-secrets). */
export interface EvaluationCredentials {
  /** Sent with the registry requests they are given for, and only those. */
  readonly credentials: CallCredentials;
  /** Which credentials these are (no secret): work done with equal ones may be shared. */
  readonly fingerprint: string;
}

/** Where one `verify` / `verifyAttestations` call reads the signatures with. */
export interface SignatureReadOptions {
  /**
   * Credentials for the policy's signature repository (a source's `signaturePullSecrets`):
   * the requests to that repository carry them instead of the session's credentials (the
   * backend's own still follow); requests to any other repository (the image's own: its OCI
   * referrers) keep the session's.
   */
  readonly signatureCredentials?: EvaluationCredentials | undefined;
}

/**
 * The verification work for one image in one admission request. Implementations share
 * registry fetches between the calls of a session and abort them with its signal.
 */
export interface VerificationSession {
  /** The manifest digest a tag points to now (one manifest GET, or none when the backend keeps tags resolved). */
  resolve(ref: ImageReference): Promise<string>;
  /**
   * After the digest `resolve` gave was denied: when that digest came from a resolution kept
   * from before this session (tags kept resolved), the tag resolved again from the registry now;
   * undefined when `resolve` already asked the registry (nothing newer to learn).
   */
  resolveAgain?(ref: ImageReference): Promise<string | undefined>;
  /** Signatures of the digest-pinned reference against a prepared policy. */
  verify(pinned: ImageReference, policy: PreparedPolicy, options?: SignatureReadOptions): Promise<ImageVerificationResult>;
  /** Attestations of one predicate type (URI), satisfying a CEL condition when one is given. */
  verifyAttestations(
    pinned: ImageReference,
    policy: PreparedPolicy,
    options: { predicateType: string; condition?: AttestationCondition } & SignatureReadOptions,
  ): Promise<AttestationsResult>;
}

/** Where a prepared policy's signatures are looked up. */
export interface PrepareOptions {
  /** The repository holding the `.sig`/`.att` tags (a ClusterImagePolicy `source[].oci`; cosign's COSIGN_REPOSITORY). */
  readonly signatureRepository?: string | undefined;
  /** A prefix of those tags (`source[].tagPrefix`; cosign's `--attachment-tag-prefix`). */
  readonly attachmentTagPrefix?: string | undefined;
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
   * session's requests only. `credentialScope` names those credentials (no secret: the
   * evaluation's fingerprint): what a backend keeps beyond the session (resolved tags) is kept
   * per scope.
   */
  session(signal: AbortSignal, credentials?: CallCredentials, credentialScope?: string): VerificationSession;
}
