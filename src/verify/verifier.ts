/**
 * The verification pipeline, top to bottom:
 *   reference → registry: resolve the tag to a manifest digest (bytes hashed)
 *             → cosign: fetch the signature artifacts of that digest
 *             → per signature: @sigstore/verify checks, Rekor body binding, payload binds
 *               the digest, policy
 *             → verified when at least one signature passes everything.
 * Per-image problems (bad reference, registry errors, failed checks) come back in the
 * result with a coded error; a malformed policy is a programming error and throws.
 */
import { ImgverifyError } from '../errors';
import { fetchLegacyArtifacts, type LegacyArtifacts } from '../cosign/discover-legacy';
import type { RegistryReader, RepositoryRef } from '../cosign/registry-reader';
import { DSSE_ENVELOPE_MEDIA_TYPE, SIMPLE_SIGNING_MEDIA_TYPE } from '../cosign/annotations';
import { digestTag } from '../cosign/oci';
import { fetchReferrerBundles, type ReferrerBundle } from '../cosign/discover-referrers';
import { COSIGN_SIGN_PREDICATE } from '../cosign/in-toto';
import { verifyReferrerBundle } from './referrer';
import { verifyBundle, type BundleArtifact, type VerifiedBundle } from './bundle';
import { predicateTypeURI, PREDICATE_TYPE_NAMES } from '../attestation/predicate-types';
import { compilePolicy, type CompiledPolicy, type VerificationPolicy } from '../policy/policy';
import { formatReference, parseReference, repositoryName, type ImageReference } from '../reference';
import { REGISTRY_CLIENT_DEFAULTS, RegistryClient, type RegistryClientOptions } from '../registry';
import { publicGoodTrustRoot, trustRootFromFile, trustRootFromJSON, type LoadedTrustRoot } from '../trust';
import { policyChecks, type PolicyChecks } from './context';
import { verifyLegacyAttestation, verifyLegacySignature, type AttestationResult, type LegacyLayerInput } from './legacy';
import { mapConcurrent } from './pool';
import {
  failureInfo,
  type AttestationVerificationResult,
  type ImageVerificationResult,
  type SignatureResult,
  type VerifiedAttestation,
} from './types';

export interface VerifierOptions {
  /** Trust material: a `trusted_root.json` path, its parsed JSON, or a loaded root. Default: the embedded public-good root. */
  trustedRoot?: string | Record<string, unknown> | LoadedTrustRoot;
  /** Options of the registry client the verifier creates (credentials, http, timeouts, limits). */
  registry?: RegistryClientOptions;
  /** Use this registry client instead of creating one (it is not closed by `close()`). */
  registryClient?: RegistryReader;
  /** Where signatures are stored, when not beside the image (cosign's COSIGN_REPOSITORY), e.g. `ghcr.io/org/signatures`. */
  signatureRepository?: string;
  /** Most signature layers accepted per image (default 50, as cosign). */
  maxSignatures?: number;
  /** Default concurrency of `verifyMany` (default 8). */
  concurrency?: number;
  /**
   * Deadline for one image's whole verification: tag resolution, signature discovery and
   * every fetch, with their redirects, retries and token requests. Default: the registry
   * client's `timeoutMs` (30 s).
   */
  timeoutMs?: number;
}

/** A policy compiled for this verifier's trust root; pass it to `verify` to skip re-compiling. */
export interface PreparedPolicy {
  readonly compiled: CompiledPolicy;
  /** @internal */
  readonly checks: PolicyChecks;
}

function loadTrust(option: VerifierOptions['trustedRoot']): LoadedTrustRoot {
  if (option === undefined) return publicGoodTrustRoot();
  if (typeof option === 'string') return trustRootFromFile(option);
  if ('material' in option && 'trustedRoot' in option) return option as unknown as LoadedTrustRoot;
  return trustRootFromJSON(option);
}

function asImgverifyError(err: unknown): ImgverifyError {
  if (err instanceof ImgverifyError) return err;
  return new ImgverifyError('REGISTRY_ERROR', `unexpected error: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** The overall reason when no signature passed: the common failure code, or a summary. */
function noMatchError(signatures: readonly SignatureResult[], policy: CompiledPolicy): ImgverifyError {
  const failures = signatures.map((s) => s.failure!).filter(Boolean);
  const codes = new Set(failures.map((f) => f.code));
  const detail = signatures.map((s) => `${s.location}: ${s.failure?.message ?? 'not verified'}`).join('; ');
  const [only] = codes;
  if (codes.size === 1 && only !== undefined) {
    const message = signatures.length === 1 ? failures[0]!.message : `all ${signatures.length} signatures failed: ${detail}`;
    return new ImgverifyError(only, message, { details: { policy: policy.description } });
  }
  return new ImgverifyError('NO_MATCHING_SIGNATURES', `none of ${signatures.length} signatures passed every check and the policy (${policy.description}): ${detail}`, {
    details: { policy: policy.description },
  });
}

export class ImageVerifier {
  readonly trust: LoadedTrustRoot;
  private readonly registry: RegistryReader;
  private readonly ownedClient?: RegistryClient;
  private readonly signatureRepository?: RepositoryRef;
  private readonly maxSignatures?: number;
  private readonly concurrency: number;
  private readonly timeoutMs: number;

  constructor(options: VerifierOptions = {}) {
    this.trust = loadTrust(options.trustedRoot);
    if (options.registryClient) {
      this.registry = options.registryClient;
    } else {
      this.ownedClient = new RegistryClient(options.registry);
      this.registry = this.ownedClient;
    }
    if (options.signatureRepository !== undefined) {
      const repo = parseReference(options.signatureRepository);
      const lastSegment = options.signatureRepository.slice(options.signatureRepository.lastIndexOf('/') + 1);
      if (repo.digest || lastSegment.includes(':')) {
        throw new ImgverifyError('INVALID_OPTIONS', `signatureRepository must be a repository without tag or digest, got ${options.signatureRepository}`);
      }
      this.signatureRepository = { registry: repo.registry, repository: repo.repository };
    }
    if (options.maxSignatures !== undefined) this.maxSignatures = options.maxSignatures;
    this.timeoutMs = options.timeoutMs ?? options.registry?.timeoutMs ?? REGISTRY_CLIENT_DEFAULTS.timeoutMs;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new ImgverifyError('INVALID_OPTIONS', `timeoutMs must be a positive number of milliseconds, got ${options.timeoutMs}`);
    }
    this.concurrency = options.concurrency ?? 8;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new ImgverifyError('INVALID_OPTIONS', `concurrency must be a positive integer, got ${options.concurrency}`);
    }
  }

  /**
   * Compiles a policy for repeated use (identities, regexps, key). Throws INVALID_POLICY or
   * KEY_INVALID. A plain policy object is compiled on every call, never cached by identity,
   * so a caller that mutates its policy object always gets the policy it now describes.
   */
  preparePolicy(policy: VerificationPolicy | PreparedPolicy): PreparedPolicy {
    if ('compiled' in policy && 'checks' in policy) return policy;
    const compiled = compilePolicy(policy);
    return Object.freeze({ compiled, checks: policyChecks(this.trust, compiled) });
  }

  /**
   * Verifies one image's signatures against a policy: cosign's legacy `.sig` signatures and
   * cosign v3 bundles attached as OCI referrers, looked up in parallel. Resolves to a result
   * for every per-image outcome.
   */
  async verify(image: string | ImageReference, policy: VerificationPolicy | PreparedPolicy): Promise<ImageVerificationResult> {
    const prepared = this.preparePolicy(policy);
    return this.run(image, async (target) => {
      const [legacy, referrers] = await Promise.all([this.fetchLegacy(target, 'sig'), this.fetchReferrers(target, 'signature')]);
      const signatures = [
        ...(legacy ? this.verifyLegacySignatures(legacy, target.digest, prepared) : []),
        // A verified bundle whose statement is an attestation is not a signature: left out here.
        ...referrers
          .map((r) => verifyReferrerBundle(r, target.digest, prepared.checks))
          .filter((r) => !(r.signature.verified && r.statement?.predicateType !== COSIGN_SIGN_PREDICATE))
          .map((r) => r.signature),
      ];
      const where = `${repositoryName(target.signatureRepo)}:${digestTag(target.digest, 'sig')} or as OCI referrers`;
      return { signatures, ...this.verdict(signatures, prepared, `no signatures found for ${target.reference} (${target.digest}) at ${where}`) };
    });
  }

  /**
   * Verifies an image's attestations (cosign `verify-attestation`): DSSE envelopes holding
   * in-toto statements about the image digest — legacy `.att` layers and cosign v3 bundles
   * attached as OCI referrers — signed as the policy requires. With a `predicateType`
   * (cosign's short name or a URI), only statements of that type count; the verified
   * statements are returned.
   */
  async verifyAttestations(
    image: string | ImageReference,
    policy: VerificationPolicy | PreparedPolicy,
    options: { predicateType?: string } = {},
  ): Promise<AttestationVerificationResult> {
    const prepared = this.preparePolicy(policy);
    let wanted: string | undefined;
    if (options.predicateType !== undefined) {
      wanted = predicateTypeURI(options.predicateType);
      if (wanted === undefined) {
        throw new ImgverifyError('INVALID_POLICY', `unknown predicate type ${JSON.stringify(options.predicateType)}: use one of ${PREDICATE_TYPE_NAMES.join(', ')} or a URI`);
      }
    }
    const result = await this.run(image, async (target) => {
      const [legacy, referrers] = await Promise.all([this.fetchLegacy(target, 'att'), this.fetchReferrers(target, 'attestation')]);
      const outcomes = [
        ...(legacy ? this.verifyLegacyAttestations(legacy, target.digest, prepared) : []),
        // A verified v3 signature (cosign sign predicate) is not an attestation: left out here.
        ...referrers
          .map((r) => verifyReferrerBundle(r, target.digest, prepared.checks))
          .filter((r) => !(r.signature.verified && r.statement?.predicateType === COSIGN_SIGN_PREDICATE)),
      ];
      const attestations: VerifiedAttestation[] = [];
      const signatures = outcomes.map(({ signature, statement }): SignatureResult => {
        if (!signature.verified || !statement) return signature;
        if (wanted !== undefined && statement.predicateType !== wanted) {
          const err = new ImgverifyError('PREDICATE_TYPE_MISMATCH', `attestation has predicate type ${statement.predicateType}, not ${wanted}`);
          return { ...signature, verified: false, failure: failureInfo(err) };
        }
        attestations.push({ predicateType: statement.predicateType, statement: statement.json, signature });
        return signature;
      });
      const where = `${repositoryName(target.signatureRepo)}:${digestTag(target.digest, 'att')} or as OCI referrers`;
      return { signatures, attestations, ...this.verdict(signatures, prepared, `no attestations found for ${target.reference} (${target.digest}) at ${where}`) };
    });
    // A result that failed before discovery (bad reference, registry error) has no attestations.
    return { ...result, attestations: result.attestations ?? [] };
  }

  /**
   * Resolves the image, runs `check` on the digest, and turns every per-image failure
   * (reference, registry, verification) into a result with a coded error.
   */
  private async run<T extends Outcome>(
    image: string | ImageReference,
    check: (target: Target) => Promise<T>,
  ): Promise<ImageVerificationResult & Partial<T>> {
    const input = typeof image === 'string' ? image : formatReference(image);
    let ref: ImageReference;
    try {
      ref = typeof image === 'string' ? parseReference(image) : image;
    } catch (err) {
      const failed: ImageVerificationResult = { image: input, verified: false, signatures: [], error: asImgverifyError(err) };
      return failed as ImageVerificationResult & Partial<T>;
    }
    const reference = formatReference(ref);
    let digest: string | undefined;
    let mediaType: string | undefined;
    // One deadline for the whole image: resolution, discovery and every fetch.
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const signatureRepo = this.signatureRepository ?? ref;
      let outcome: T;
      if (ref.digest) {
        // The digest is what signatures bind; like cosign, do not fetch the image for it.
        digest = ref.digest;
        outcome = await check({ reference, digest, signatureRepo, imageRepo: ref, signal });
      } else {
        const manifest = await this.registry.getManifest(ref, ref.tag!, { signal });
        digest = manifest.digest;
        mediaType = manifest.mediaType;
        outcome = await check({ reference, digest, signatureRepo, imageRepo: ref, signal });
      }
      return { image: input, reference, digest, ...(mediaType ? { mediaType } : {}), ...outcome };
    } catch (caught) {
      const err = signal.aborted && !(caught instanceof ImgverifyError && caught.code === 'REGISTRY_TIMEOUT')
        ? new ImgverifyError('REGISTRY_TIMEOUT', `verification of ${reference} did not finish within ${this.timeoutMs} ms`, { cause: caught, details: { timeoutMs: this.timeoutMs } })
        : caught;
      const failed: ImageVerificationResult = {
        image: input,
        reference,
        ...(digest ? { digest } : {}),
        ...(mediaType ? { mediaType } : {}),
        verified: false,
        signatures: [],
        error: asImgverifyError(err),
      };
      // Failed before its check produced anything: none of T's own fields are present.
      return failed as ImageVerificationResult & Partial<T>;
    }
  }

  /**
   * verified when one signature passed; otherwise the reason. A signature that is listed but
   * could not be fetched (operational failure) could have been the valid one: then the
   * verdict is that operational failure, naming the object, never a definite "failed".
   */
  private verdict(signatures: readonly SignatureResult[], prepared: PreparedPolicy, none: string): { verified: boolean; error?: ImgverifyError } {
    if (signatures.length === 0) return { verified: false, error: new ImgverifyError('NO_SIGNATURES', none) };
    if (signatures.some((s) => s.verified)) return { verified: true };
    const unreachable = signatures.filter((s) => s.failure?.category === 'operational');
    if (unreachable.length > 0) {
      const first = unreachable[0]!;
      const others = signatures.length - 1;
      return {
        verified: false,
        error: new ImgverifyError(
          first.failure!.code,
          `${first.location} is listed but could not be fetched: ${first.failure!.message}` +
            (others > 0 ? ` (${others} other signature${others === 1 ? '' : 's'} did not verify)` : ''),
          { details: { location: first.location, unavailable: unreachable.map((s) => s.location) } },
        ),
      };
    }
    return { verified: false, error: noMatchError(signatures, prepared.compiled) };
  }

  /**
   * Verifies a Sigstore bundle (v0.1–v0.3) for an artifact — its bytes or its SHA-256 digest
   * (hex) — against a policy, as `imgverify verify-bundle` does. Throws ImgverifyError naming
   * the failed check; returns the signer, log entry, signing time and what was signed.
   */
  verifyBundle(bundle: unknown, artifact: BundleArtifact, policy: VerificationPolicy | PreparedPolicy): VerifiedBundle {
    return verifyBundle(bundle, artifact, this.preparePolicy(policy).checks);
  }

  /** Verifies many images with bounded concurrency, yielding each result as it completes. */
  verifyMany(
    images: Iterable<string | ImageReference> | AsyncIterable<string | ImageReference>,
    policy: VerificationPolicy | PreparedPolicy,
    options: { concurrency?: number } = {},
  ): AsyncGenerator<ImageVerificationResult> {
    const prepared = this.preparePolicy(policy);
    return mapConcurrent(images, options.concurrency ?? this.concurrency, (image) => this.verify(image, prepared));
  }

  async close(): Promise<void> {
    await this.ownedClient?.close();
  }

  /** cosign v3 bundles are attached to the image itself (its repository), not to a signature repository. */
  private fetchReferrers(target: Target, kind: 'signature' | 'attestation'): Promise<readonly ReferrerBundle[]> {
    return fetchReferrerBundles(this.registry, target.imageRepo, target.digest, {
      ...(this.maxSignatures !== undefined ? { maxSignatures: this.maxSignatures } : {}),
      kind,
      signal: target.signal,
    });
  }

  private fetchLegacy(target: Target, suffix: 'sig' | 'att'): Promise<LegacyArtifacts | null> {
    return fetchLegacyArtifacts(this.registry, target.signatureRepo, target.digest, suffix, {
      ...(this.maxSignatures !== undefined ? { maxSignatures: this.maxSignatures } : {}),
      signal: target.signal,
    });
  }

  /** Layers that failed to download, or have the wrong media type, fail here; the rest are verified. */
  private legacyLayers<R>(
    artifacts: LegacyArtifacts,
    mediaType: string,
    failed: (location: string, err: ImgverifyError) => R,
    verify: (input: LegacyLayerInput) => R,
  ): R[] {
    return artifacts.layers.map((layer) => {
      const location = `${artifacts.location} layer ${layer.index}`;
      if (layer.error) return failed(location, layer.error);
      if (layer.descriptor.mediaType !== mediaType) {
        return failed(location, new ImgverifyError('SIGNATURE_MALFORMED', `layer media type ${layer.descriptor.mediaType} is not ${mediaType}`));
      }
      return verify({ source: 'sig-tag', location, blob: layer.payload!, annotations: layer.descriptor.annotations });
    });
  }

  private verifyLegacySignatures(artifacts: LegacyArtifacts, digest: string, prepared: PreparedPolicy): SignatureResult[] {
    return this.legacyLayers(
      artifacts,
      SIMPLE_SIGNING_MEDIA_TYPE,
      (location, err): SignatureResult => ({ source: 'sig-tag', location, verified: false, failure: failureInfo(err) }),
      (input) => verifyLegacySignature(input, digest, prepared.checks),
    );
  }

  private verifyLegacyAttestations(artifacts: LegacyArtifacts, digest: string, prepared: PreparedPolicy): AttestationResult[] {
    return this.legacyLayers(
      artifacts,
      DSSE_ENVELOPE_MEDIA_TYPE,
      (location, err): AttestationResult => ({ signature: { source: 'sig-tag', location, verified: false, failure: failureInfo(err) } }),
      (input) => verifyLegacyAttestation(input, digest, prepared.checks),
    );
  }
}

/** What checking one digest produces. */
interface Outcome {
  readonly signatures: readonly SignatureResult[];
  readonly verified: boolean;
  readonly error?: ImgverifyError;
}

/** An image resolved to its digest, and where its signatures are stored. */
interface Target {
  readonly reference: string;
  readonly digest: string;
  /** Where legacy `.sig`/`.att` artifacts are (the image's repository unless overridden). */
  readonly signatureRepo: RepositoryRef;
  /** The image's own repository, where its referrers are. */
  readonly imageRepo: RepositoryRef;
  /** The deadline of this image's verification. */
  readonly signal: AbortSignal;
}

export function createVerifier(options: VerifierOptions = {}): ImageVerifier {
  return new ImageVerifier(options);
}
