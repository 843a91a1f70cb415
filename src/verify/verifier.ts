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
import { SIMPLE_SIGNING_MEDIA_TYPE } from '../cosign/annotations';
import { compilePolicy, type CompiledPolicy, type VerificationPolicy } from '../policy/policy';
import { formatReference, parseReference, type ImageReference } from '../reference';
import { RegistryClient, type RegistryClientOptions } from '../registry';
import { publicGoodTrustRoot, trustRootFromFile, trustRootFromJSON, type LoadedTrustRoot } from '../trust';
import { policyChecks, type PolicyChecks } from './context';
import { verifyLegacySignature } from './legacy-signature';
import { mapConcurrent } from './pool';
import { failureInfo, type ImageVerificationResult, type SignatureResult } from './types';

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

  /** Verifies one image against a policy. Resolves to a result for every per-image outcome. */
  async verify(image: string | ImageReference, policy: VerificationPolicy | PreparedPolicy): Promise<ImageVerificationResult> {
    const prepared = this.preparePolicy(policy);
    const input = typeof image === 'string' ? image : formatReference(image);
    let ref: ImageReference;
    try {
      ref = typeof image === 'string' ? parseReference(image) : image;
    } catch (err) {
      return { image: input, verified: false, signatures: [], error: asImgverifyError(err) };
    }
    const reference = formatReference(ref);
    let digest: string | undefined;
    let mediaType: string | undefined;
    try {
      const sigRepo = this.signatureRepository ?? ref;
      let legacy: LegacyArtifacts | null;
      if (ref.digest) {
        // The digest is known: confirm the image exists while fetching its signatures.
        digest = ref.digest;
        const [manifest, found] = await Promise.all([
          this.registry.getManifest(ref, ref.digest),
          this.fetchLegacy(sigRepo, ref.digest),
        ]);
        mediaType = manifest.mediaType;
        legacy = found;
      } else {
        const manifest = await this.registry.getManifest(ref, ref.tag!);
        digest = manifest.digest;
        mediaType = manifest.mediaType;
        legacy = await this.fetchLegacy(sigRepo, digest);
      }
      const signatures = legacy ? this.verifyLegacy(legacy, digest, prepared) : [];
      const base = { image: input, reference, digest, mediaType, signatures };
      if (signatures.length === 0) {
        return {
          ...base,
          verified: false,
          error: new ImgverifyError('NO_SIGNATURES', `no signatures found for ${reference} (${digest}) at ${formatReference({ ...sigRepo, tag: `${digest.replace(':', '-')}.sig` })}`),
        };
      }
      if (signatures.some((s) => s.verified)) return { ...base, verified: true };
      return { ...base, verified: false, error: noMatchError(signatures, prepared.compiled) };
    } catch (err) {
      return {
        image: input,
        reference,
        ...(digest ? { digest } : {}),
        ...(mediaType ? { mediaType } : {}),
        verified: false,
        signatures: [],
        error: asImgverifyError(err),
      };
    }
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

  private fetchLegacy(repo: RepositoryRef, digest: string): Promise<LegacyArtifacts | null> {
    return fetchLegacyArtifacts(this.registry, repo, digest, 'sig', {
      ...(this.maxSignatures !== undefined ? { maxSignatures: this.maxSignatures } : {}),
    });
  }

  private verifyLegacy(artifacts: LegacyArtifacts, digest: string, prepared: PreparedPolicy): SignatureResult[] {
    return artifacts.layers.map((layer): SignatureResult => {
      const location = `${artifacts.location} layer ${layer.index}`;
      if (layer.error) return { source: 'sig-tag', location, verified: false, failure: failureInfo(layer.error) };
      if (layer.descriptor.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
        const err = new ImgverifyError('SIGNATURE_MALFORMED', `layer media type ${layer.descriptor.mediaType} is not ${SIMPLE_SIGNING_MEDIA_TYPE}`);
        return { source: 'sig-tag', location, verified: false, failure: failureInfo(err) };
      }
      return verifyLegacySignature(
        { source: 'sig-tag', location, payload: layer.payload!, annotations: layer.descriptor.annotations },
        digest,
        prepared.checks,
      );
    });
  }
}

export function createVerifier(options: VerifierOptions = {}): ImageVerifier {
  return new ImageVerifier(options);
}
