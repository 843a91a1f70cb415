/**
 * The registry-backed verifier, top to bottom:
 *   reference → registry: resolve the tag to a manifest digest (bytes hashed)
 *             → discovery (../cosign/discover-*.ts): the `.sig`/`.att` artifacts and the cosign
 *               v3 bundles referring to that digest, fetched in parallel, every byte digest-checked
 *             → the pure part (./image-signatures.ts): each signature through the one algorithm
 *               (./core.ts); verified when at least one passes every step.
 * `verifyBundle` is the pure part alone, for a bundle and an artifact.
 * Per-image problems (bad reference, registry errors, failed checks) come back in the result
 * with a coded error; a malformed policy is a programming error and throws.
 */
import { predicateTypeURI, PREDICATE_TYPE_NAMES } from '../attestation/predicate-types';
import type { LegacyArtifacts } from '../cosign/discover-legacy';
import type { ReferrerBundle } from '../cosign/discover-referrers';
import { signalBound, type RegistryReader, type RepositoryRef } from '../cosign/registry-reader';
import { abortedError, ImgverifyError, toImgverifyError } from '../errors';
import { describeValue } from '../util/describe';
import { keysOf, rejectUnknownKeys } from '../util/options';
import { toCondition, type AttestationCondition } from '../policy/cel';
import { compilePolicy, type CompiledPolicy, type VerificationPolicy } from '../policy/policy';
import { formatReference, parseReference, repositoryName, withDigest, type ImageReference } from '../reference';
import type { HttpStack, RegistryClient, RegistryClientOptions } from '../registry';
import type { LoadedTrustRoot } from '../trust/trusted-root';
import { ActiveTrust, sameRoots, trustEntries, type TrustEntry, type TrustRootInput } from '../trust/source';
import { artifactBundleInput, toArtifact, type BundleArtifact } from './adapters/bundle';
import type { BlobSignature } from './adapters/blob';
import { policyChecks, type PolicyChecks } from './policy-checks';
import { verdictFailure, verifySignature } from './core';
import { lazy } from '../util/lazy';
import { judgeAttestations, judgeSignatures, type Discovered, type ImageVerdict } from './image-signatures';
import { defined } from '../util/object';
import { connectionsForImages, mapConcurrent } from '../util/pool';
import type { AttestationVerificationResult, ImageVerificationResult, SignerInfo, TlogInfo, UnverifiedImageResult, VerifiedImageResult } from './types';

// Loaded on first use (start-up cost, bench/startup.ts): the registry client and its HTTP
// stack when a verifier is created, discovery on the first image, blob/Rekor support on the
// first verifyBlob.
/* eslint-disable @typescript-eslint/no-require-imports -- the lazily loaded parts, see above */
const registryClient = lazy(() => {
  const { RegistryClient } = require('../registry/client') as typeof import('../registry/client');
  return { RegistryClient };
});
const registryOptions = lazy(() => {
  const { DEFAULTS } = require('../registry/options') as typeof import('../registry/options');
  return { DEFAULTS };
});
const discoverLegacy = lazy(() => {
  const { fetchLegacyArtifacts } = require('../cosign/discover-legacy') as typeof import('../cosign/discover-legacy');
  return { fetchLegacyArtifacts };
});
const discoverReferrers = lazy(() => {
  const { fetchReferrerBundles } = require('../cosign/discover-referrers') as typeof import('../cosign/discover-referrers');
  return { fetchReferrerBundles };
});
const blob = lazy(() => {
  const { verifyBlobSignature } = require('./blob') as typeof import('./blob');
  return { verifyBlobSignature };
});
const webClient = lazy(() => {
  const { WebClient } = require('../net/web-client') as typeof import('../net/web-client');
  return { WebClient };
});
const rekorClient = lazy(() => {
  const { PUBLIC_GOOD_REKOR_URL, RekorClient } = require('../rekor/client') as typeof import('../rekor/client');
  return { PUBLIC_GOOD_REKOR_URL, RekorClient };
});
const runtimeCheck = lazy(() => {
  const { checkRuntime } = require('./runtime-check') as typeof import('./runtime-check');
  return { checkRuntime };
});
/* eslint-enable @typescript-eslint/no-require-imports */

export interface VerifierOptions {
  /**
   * Trust material: a `trusted_root.json` path, its parsed JSON, a loaded root, or a provider
   * whose root is refreshed while the process runs (`loadTufTrustRoot`); or several of them, any
   * one of which may verify a signature (every check of a signature within one root). Default:
   * the embedded public-good root.
   */
  trustedRoot?: TrustRootInput | readonly TrustRootInput[] | undefined;
  /** Options of the registry client the verifier creates (credentials, http, timeouts, limits). */
  registry?: RegistryClientOptions | undefined;
  /** Use this registry reader instead of creating a client (it is not closed by `close()`). */
  registryClient?: RegistryReader | undefined;
  /** Where signatures are stored, when not beside the image (cosign's COSIGN_REPOSITORY), e.g. `ghcr.io/org/signatures`. */
  signatureRepository?: string | undefined;
  /**
   * A prefix of the `.sig`/`.att` tags (cosign's `--attachment-tag-prefix`): signatures are then
   * at `<prefix>sha256-<hex>.sig`. Letters, digits, `_`, `.`, `-`, at most 53 characters (a tag
   * is at most 128).
   */
  attachmentTagPrefix?: string | undefined;
  /** Most signature layers accepted per image (default 50, as cosign). */
  maxSignatures?: number | undefined;
  /**
   * Default concurrency of `verifyMany` (default 8). The registry client the verifier creates
   * keeps two connections per registry for each image in flight (at least 32), unless
   * `registry.maxConnectionsPerHost` says otherwise.
   */
  concurrency?: number | undefined;
  /**
   * Deadline for one image's whole verification: tag resolution, signature discovery and
   * every fetch, with their redirects, retries and token requests. Default: the registry
   * client's `timeoutMs` (30 s).
   */
  timeoutMs?: number | undefined;
}

/**
 * A policy compiled once (`verifier.preparePolicy`): pass it to the verifier's methods to skip
 * re-compiling. Opaque; its checks are set up once for each set of trust roots it is used with
 * (another verifier's, or a refreshed TUF root).
 */
export interface PreparedPolicy {
  /** What the policy accepts, in words (as failure messages name it). */
  readonly description: string;
}

/** The internals of prepared policies, out of the public type: the policy, and its checks for the trust roots it was used with. */
const PREPARED = new WeakMap<PreparedPolicy, { readonly compiled: CompiledPolicy; checks: PolicyChecks[] }>();

/** Checks kept per prepared policy: the roots in force and a few before (several verifiers, a refresh). */
const MAX_CHECKS_PER_POLICY = 4;

/** What a bundle's verification established. */
export interface VerifiedBundle {
  readonly verified: true;
  readonly signer: SignerInfo;
  /** The trust root the bundle verified under (its `source`). */
  readonly trustRoot: string;
  /** The first transparency-log entry (all of them were verified). */
  readonly tlog?: TlogInfo;
  /** The earliest verified timestamp (RFC 3161 or Rekor integration time), ISO 8601. */
  readonly signedAt?: string;
  readonly content: VerifiedContent;
  readonly error?: undefined;
}

/**
 * A verification that did not pass, and why (`error`: the failed check, or what kept it from
 * being made). A policy failure's `error.details.signer` says who did sign.
 */
export interface VerificationFailure {
  readonly verified: false;
  readonly error: ImgverifyError;
}

/** The outcome of `verifyBundle`: narrow on `verified`. */
export type BundleVerificationResult = VerifiedBundle | VerificationFailure;

/** The outcome of `verifyBlob`: narrow on `verified`. */
export type BlobVerificationResult = VerifiedBlob | VerificationFailure;

export type VerifiedContent =
  /** `digest`: the artifact's digest the signature was verified for, `alg:hex` (the bundle's algorithm, SHA-256 mostly). */
  | { readonly kind: 'message-signature'; readonly digest: string }
  /** The verified DSSE payload (an in-toto statement naming the artifact) and its type. */
  | { readonly kind: 'dsse'; readonly payloadType: string; readonly payload: Buffer };

export type { BlobSignature, BundleArtifact };

/** How `verifyBlob` finds a log entry the signature material does not carry. */
export interface BlobVerifyOptions {
  /** The Rekor v1 API to look the entry up in (default https://rekor.sigstore.dev). Its answers are verified, never trusted. */
  rekorUrl?: string | undefined;
  /** Never contact Rekor: a signature without a log entry is then refused (INVALID_OPTIONS), unless the policy waives the log. */
  offline?: boolean | undefined;
  /** Deadline of each request to Rekor, ms (default 30 s). */
  timeoutMs?: number | undefined;
  /** Extra CA certificates (PEM) for Rekor's TLS. */
  ca?: string | string[] | undefined;
  /** The HTTP stack (proxies, CAs, connections) to share with other clients (shareHttpStack). */
  httpStack?: HttpStack | undefined;
  signal?: AbortSignal | undefined;
}

/** What a blob's verification established: as a bundle's, and the Rekor entry found online. */
export interface VerifiedBlob extends VerifiedBundle {
  /** The Rekor entry, when it was looked up (not carried by a bundle). */
  readonly rekorEntry?: { readonly uuid: string; readonly url: string };
}

/**
 * Options of one call. `signal` aborts it: the result then has the error ABORTED (or the
 * signal's reason, when that is an ImgverifyError), as every other per-image outcome; no
 * request is made once the signal is aborted.
 */
export interface VerifyCallOptions {
  signal?: AbortSignal | undefined;
}

/** Options of `verifyMany`: at most `concurrency` images in flight; once `signal` aborts, no new image starts. */
export interface VerifyManyOptions extends VerifyCallOptions {
  concurrency?: number | undefined;
}

/** Options of `verifyAttestations`. */
export interface AttestationOptions extends VerifyCallOptions {
  /** cosign's short name (`slsaprovenance1`, ...) or a predicate type URI: only statements of that type count. */
  predicateType?: string | undefined;
  /**
   * Conditions on what the statement says: CEL expressions over `predicateType`, `subject` and
   * `predicate`, each either text (compiled on this call) or compiled once with
   * `compileAttestationCondition`. An attestation counts only when every one is true.
   */
  condition?: string | AttestationCondition | ReadonlyArray<string | AttestationCondition> | undefined;
}

/** An image resolved to its digest, and where its signatures are stored. */
interface Target {
  readonly reference: string;
  readonly digest: string;
  /** Where legacy `.sig`/`.att` artifacts are (the image's repository unless overridden). */
  readonly signatureRepo: RepositoryRef;
  /** cosign's attachment tag prefix ("" without). */
  readonly tagPrefix: string;
  /** The image's own repository, where its referrers are. */
  readonly imageRepo: RepositoryRef;
  /** The deadline of this image's verification. */
  readonly signal: AbortSignal;
  /** The same deadline as a `performance.now()` time (what synchronous work checks). */
  readonly deadline: number;
}

export class ImageVerifier {
  private readonly active: ActiveTrust;
  private readonly registry: RegistryReader;
  private ownedClient: RegistryClient | undefined;
  private readonly signatureRepository?: RepositoryRef;
  private readonly tagPrefix: string;
  private readonly maxSignatures?: number;
  private readonly concurrency: number;
  private readonly timeoutMs: number;

  constructor(options: VerifierOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new ImgverifyError('INVALID_OPTIONS', 'createVerifier options must be an object');
    rejectUnknownKeys(options, VERIFIER_OPTION_KEYS, 'createVerifier options');
    // Once per process: a runtime that cannot make every check is refused before anything is verified.
    runtimeCheck().checkRuntime();
    this.active = new ActiveTrust(trustEntries(options.trustedRoot));
    this.concurrency = options.concurrency ?? 8;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new ImgverifyError('INVALID_OPTIONS', `concurrency must be a positive integer, got ${options.concurrency}`);
    }
    // Created now, so that a configuration error (a proxy URL, a certificate file) is thrown here.
    if (options.registryClient) {
      // Not ours: it may not honour the signal, so every read is raced against it.
      this.registry = signalBound(options.registryClient);
    } else {
      const registry = options.registry ?? {};
      const sized =
        registry.maxConnectionsPerHost === undefined && registry.httpStack === undefined
          ? { ...registry, maxConnectionsPerHost: connectionsForImages(this.concurrency) }
          : registry;
      this.ownedClient = new (registryClient().RegistryClient)(sized);
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
    this.tagPrefix = options.attachmentTagPrefix ?? '';
    if (typeof this.tagPrefix !== 'string' || !/^(?:[\w][\w.-]{0,52})?$/.test(this.tagPrefix)) {
      throw new ImgverifyError(
        'INVALID_OPTIONS',
        `attachmentTagPrefix must be letters, digits, _ . - (at most 53, not starting with . or -), got ${describeValue(options.attachmentTagPrefix)}`,
      );
    }
    if (options.maxSignatures !== undefined) this.maxSignatures = options.maxSignatures;
    this.timeoutMs = options.timeoutMs ?? options.registry?.timeoutMs ?? registryOptions().DEFAULTS.timeoutMs;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new ImgverifyError('INVALID_OPTIONS', `timeoutMs must be a positive number of milliseconds, got ${options.timeoutMs}`);
    }
  }

  /** The first trust root in force (the only one unless several were given). */
  get trust(): LoadedTrustRoot {
    return this.active.current()[0]!;
  }

  /** The trust roots in force, in order (a provider's current root). */
  get trustRoots(): readonly LoadedTrustRoot[] {
    return this.active.current();
  }

  /** @internal The trust sources as given (loaded roots and providers), to share with another verifier. */
  get trustSources(): readonly TrustEntry[] {
    return this.active.entries;
  }

  /**
   * Compiles a policy for repeated use (identities, regexps, key). Throws INVALID_POLICY or
   * KEY_INVALID. A plain policy object is compiled on every call, never cached by identity,
   * so a caller that mutates its policy object always gets the policy it now describes.
   */
  preparePolicy(policy: VerificationPolicy | PreparedPolicy): PreparedPolicy {
    if (PREPARED.has(policy as PreparedPolicy)) return policy as PreparedPolicy;
    const compiled = compilePolicy(policy as VerificationPolicy);
    const prepared: PreparedPolicy = Object.freeze({ description: compiled.description });
    PREPARED.set(prepared, { compiled, checks: [] });
    return prepared;
  }

  /**
   * The checks of a prepared policy under the trust roots in force now: set up once per set of
   * roots (a refreshed TUF root is a new set).
   */
  private checksFor(prepared: PreparedPolicy): PolicyChecks {
    const entry = PREPARED.get(prepared)!;
    const roots = this.active.current();
    let checks = entry.checks.find((c) =>
      sameRoots(
        c.roots.map((r) => r.trust),
        roots,
      ),
    );
    if (!checks) {
      checks = policyChecks(roots, entry.compiled);
      entry.checks = [checks, ...entry.checks].slice(0, MAX_CHECKS_PER_POLICY);
    }
    return checks;
  }

  /**
   * Verifies one image's signatures against a policy: cosign's legacy `.sig` signatures and
   * cosign v3 bundles attached as OCI referrers, looked up in parallel. Resolves to a result
   * for every per-image outcome.
   */
  async verify(image: string | ImageReference, policy: VerificationPolicy | PreparedPolicy, options: VerifyCallOptions = {}): Promise<ImageVerificationResult> {
    rejectUnknownKeys(options, CALL_OPTION_KEYS, 'verify options');
    const prepared = this.preparePolicy(policy);
    return this.run(image, options.signal, async (target) => {
      const checks = this.checksFor(prepared);
      const found = await this.discover(target, 'signature');
      return judgeSignatures(target.digest, found, checks, this.nothingFound('signatures', target, 'sig'));
    });
  }

  /**
   * Verifies an image's attestations (cosign `verify-attestation`): DSSE envelopes holding
   * in-toto statements about the image digest — legacy `.att` layers and cosign v3 bundles
   * attached as OCI referrers — signed as the policy requires. With a `predicateType`
   * (cosign's short name or a URI), only statements of that type count; the verified
   * statements are returned. With a `condition`, only statements that satisfy it (every
   * expression true) count; the others fail ATTESTATION_CONDITION_FAILED with the reason.
   * A condition that does not compile throws INVALID_POLICY naming its line and column.
   */
  async verifyAttestations(
    image: string | ImageReference,
    policy: VerificationPolicy | PreparedPolicy,
    options: AttestationOptions = {},
  ): Promise<AttestationVerificationResult> {
    rejectUnknownKeys(options, ATTESTATION_OPTION_KEYS, 'verifyAttestations options');
    const prepared = this.preparePolicy(policy);
    const given = options.condition === undefined ? [] : Array.isArray(options.condition) ? options.condition : [options.condition];
    const conditions = (given as ReadonlyArray<string | AttestationCondition>).map((c, i) =>
      toCondition(c, given.length === 1 ? 'condition' : `condition[${i}]`),
    );
    let wanted: string | undefined;
    if (options.predicateType !== undefined) {
      wanted = predicateTypeURI(options.predicateType);
      if (wanted === undefined) {
        throw new ImgverifyError(
          'INVALID_POLICY',
          `unknown predicate type ${JSON.stringify(options.predicateType)}: use one of ${PREDICATE_TYPE_NAMES.join(', ')} or a URI`,
        );
      }
    }
    const result = await this.run(image, options.signal, async (target) => {
      const checks = this.checksFor(prepared);
      const found = await this.discover(target, 'attestation');
      return judgeAttestations(target.digest, found, checks, wanted, this.nothingFound('attestations', target, 'att'), conditions, {
        deadline: target.deadline,
        signal: target.signal,
      });
    });
    // A result that failed before discovery (bad reference, registry error) has no attestations.
    return { ...result, attestations: result.attestations ?? [] };
  }

  /**
   * Verifies a Sigstore bundle (v0.1–v0.3) for an artifact — its bytes or its SHA-256 digest
   * (hex) — against a policy, as `imgverify verify-bundle` does: the same algorithm as image
   * signatures, with the artifact as the subject. No I/O. Returns the signer, log entry,
   * signing time and what was signed, or the failure naming the failed check; throws only for
   * a malformed policy or options.
   */
  verifyBundle(
    bundle: unknown,
    artifact: BundleArtifact,
    policy: VerificationPolicy | PreparedPolicy,
    options: VerifyCallOptions = {},
  ): BundleVerificationResult {
    rejectUnknownKeys(options, CALL_OPTION_KEYS, 'verifyBundle options');
    const checks = this.checksFor(this.preparePolicy(policy));
    return outcomeOf(() => {
      if (options.signal?.aborted) throw abortedError(options.signal.reason);
      const v = verifySignature(artifactBundleInput(bundle, artifact), checks);
      if (!v.verified) throw verdictFailure(v);
      return verifiedContent(v);
    });
  }

  /**
   * Verifies a signed file as `cosign verify-blob` does: a Sigstore bundle, cosign's older bundle
   * JSON, or a signature with its certificate (PEM or base64 of PEM) or the policy's key. A
   * signature without a log entry has it looked up in Rekor by the file's SHA-256
   * (`options.rekorUrl`); each entry Rekor offers is verified like a bundled one (SET or
   * inclusion proof and checkpoint against the trust root, a body naming this signature,
   * certificate and digest) before it counts. The same algorithm as every other signature.
   * Resolves to what was verified or to the failure naming the failed check (a policy failure's
   * `error.details.signer` says who did sign; FETCH_FAILED when Rekor cannot be reached; ABORTED,
   * or the signal's reason when that is an ImgverifyError, once `options.signal` has aborted);
   * throws only for a malformed policy or options.
   */
  async verifyBlob(
    artifact: Buffer | { readonly digest: string },
    signature: BlobSignature,
    policy: VerificationPolicy | PreparedPolicy,
    options: BlobVerifyOptions = {},
  ): Promise<BlobVerificationResult> {
    rejectUnknownKeys(options, BLOB_OPTION_KEYS, 'verifyBlob options');
    const checks = this.checksFor(this.preparePolicy(policy));
    const web = options.offline
      ? undefined
      : new (webClient().WebClient)(defined({ timeoutMs: options.timeoutMs, ca: options.ca, httpStack: options.httpStack }));
    try {
      return await asyncOutcomeOf(async () => {
        if (options.signal?.aborted) throw abortedError(options.signal.reason);
        // A digest (`sha256:<hex>`) stands for a file too large to hold in memory, hashed as it was read.
        const subject = toArtifact(Buffer.isBuffer(artifact) ? { bytes: artifact } : artifact);
        const rekor = web ? new (rekorClient().RekorClient)(web, options.rekorUrl ?? rekorClient().PUBLIC_GOOD_REKOR_URL) : undefined;
        try {
          const { verdict, rekorEntry } = await blob().verifyBlobSignature(checks, subject, signature, { ...defined({ rekor, signal: options.signal }) });
          return { ...verifiedContent(verdict), ...defined({ rekorEntry }) };
        } catch (err) {
          // The transport passes the caller's reason through (a DOMException, often): said as ABORTED.
          if (options.signal?.aborted) throw abortedError(options.signal.reason);
          throw err;
        }
      });
    } finally {
      await web?.close();
    }
  }

  /** Verifies many images with bounded concurrency, yielding each result as it completes. */
  verifyMany(
    images: Iterable<string | ImageReference> | AsyncIterable<string | ImageReference>,
    policy: VerificationPolicy | PreparedPolicy,
    options: VerifyManyOptions = {},
  ): AsyncGenerator<ImageVerificationResult> {
    rejectUnknownKeys(options, MANY_OPTION_KEYS, 'verifyMany options');
    const prepared = this.preparePolicy(policy);
    const { signal } = options;
    const call = signal ? { signal } : {};
    return mapConcurrent(untilAborted(images, signal), options.concurrency ?? this.concurrency, (image) => this.verify(image, prepared, call));
  }

  /** `await using verifier = createVerifier()`: closes it when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Releases the registry connections (of a client this verifier created). */
  async close(): Promise<void> {
    const client = this.ownedClient;
    this.ownedClient = undefined;
    await client?.close();
  }

  /**
   * Resolves the image, runs `check` on the digest, and turns every per-image failure
   * (reference, registry, verification) into a result with a coded error.
   */
  private async run<T extends ImageVerdict>(
    image: string | ImageReference,
    callSignal: AbortSignal | undefined,
    check: (target: Target) => Promise<T>,
  ): Promise<ImageVerificationResult & Partial<T>> {
    const input = typeof image === 'string' ? image : formatReference(image);
    let ref: ImageReference;
    try {
      ref = typeof image === 'string' ? parseReference(image) : image;
    } catch (err) {
      const failed: ImageVerificationResult = { image: input, verified: false, signatures: [], error: toImgverifyError(err) };
      return failed;
    }
    const reference = formatReference(ref);
    let digest: string | undefined;
    let mediaType: string | undefined;
    // One deadline for the whole image (resolution, discovery and every fetch), and the caller's signal.
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const deadlineAt = performance.now() + this.timeoutMs;
    const signal = callSignal ? AbortSignal.any([callSignal, deadline]) : deadline;
    try {
      if (callSignal?.aborted) throw abortedError(callSignal.reason);
      if (ref.digest) {
        // The digest is what signatures bind; like cosign, do not fetch the image for it.
        digest = ref.digest;
      } else {
        const manifest = await this.registry.getManifest(ref, ref.tag ?? 'latest', { signal });
        digest = manifest.digest;
        mediaType = manifest.mediaType;
      }
      const signatureRepo = this.signatureRepository ?? ref;
      const outcome = await check({ reference, digest, signatureRepo, tagPrefix: this.tagPrefix, imageRepo: ref, signal, deadline: deadlineAt });
      return imageResult({ image: input, ref, reference, digest, mediaType }, outcome);
    } catch (caught) {
      const err = callSignal?.aborted
        ? abortedError(callSignal.reason)
        : deadline.aborted && !(caught instanceof ImgverifyError && caught.code === 'REGISTRY_TIMEOUT')
          ? new ImgverifyError('REGISTRY_TIMEOUT', `verification of ${reference} did not finish within ${this.timeoutMs} ms`, {
              cause: caught,
              details: { timeoutMs: this.timeoutMs },
            })
          : caught;
      const failed: ImageVerificationResult = {
        image: input,
        reference,
        ...defined({ digest, mediaType, pinnedReference: digest === undefined ? undefined : formatReference(withDigest(ref, digest)) }),
        verified: false,
        signatures: [],
        error: toImgverifyError(err),
      };
      // Failed before its check produced anything: none of T's own fields are present.
      return failed;
    }
  }

  /**
   * The legacy artifacts (`.sig` or `.att`) and the v3 referrers of the digest, in parallel,
   * under the image's deadline. Referrers whose annotations say they are the other kind are
   * not fetched.
   */
  private async discover(target: Target, kind: 'signature' | 'attestation'): Promise<Discovered> {
    const options = { ...defined({ maxSignatures: this.maxSignatures }), signal: target.signal };
    const [legacy, referrers]: [LegacyArtifacts | null, readonly ReferrerBundle[]] = await Promise.all([
      discoverLegacy().fetchLegacyArtifacts(this.registry, target.signatureRepo, target.digest, kind === 'signature' ? 'sig' : 'att', {
        ...options,
        tagPrefix: target.tagPrefix,
      }),
      // cosign v3 bundles are attached to the image itself (its repository), not to a signature repository.
      discoverReferrers().fetchReferrerBundles(this.registry, target.imageRepo, target.digest, { ...options, kind }),
    ]);
    return { legacy, referrers };
  }

  private nothingFound(what: string, target: Target, suffix: 'sig' | 'att'): string {
    const where = `${repositoryName(target.signatureRepo)}:${target.tagPrefix}${target.digest.replace(':', '-')}.${suffix} or as OCI referrers`;
    return `no ${what} found for ${target.reference} (${target.digest}) at ${where}`;
  }
}

function verifiedContent(v: ReturnType<typeof verifySignature>): VerifiedBundle {
  const content: VerifiedContent = v.dsse
    ? { kind: 'dsse', payloadType: v.dsse.payloadType, payload: v.dsse.payload }
    : { kind: 'message-signature', digest: v.messageDigest! };
  if (!v.signer || !v.trustRoot) throw toImgverifyError(new Error('a verified signature has no signer or trust root'));
  return { verified: true, signer: v.signer, trustRoot: v.trustRoot, ...defined({ tlog: v.tlog, signedAt: v.signedAt }), content };
}

/** What `verify` returns: a failure is a value (as every per-image outcome), never thrown. */
function outcomeOf<T extends { readonly verified: true }>(run: () => T): T | VerificationFailure {
  try {
    return run();
  } catch (err) {
    return { verified: false, error: toImgverifyError(err) };
  }
}

async function asyncOutcomeOf<T extends { readonly verified: true }>(run: () => Promise<T>): Promise<T | VerificationFailure> {
  try {
    return await run();
  } catch (err) {
    return { verified: false, error: toImgverifyError(err) };
  }
}

/** An image's result from what was resolved and the verdict on its signatures (and the verdict's own fields). */
function imageResult<T extends ImageVerdict>(
  resolved: {
    readonly image: string;
    readonly ref: ImageReference;
    readonly reference: string;
    readonly digest: string;
    readonly mediaType?: string | undefined;
  },
  outcome: T,
): ImageVerificationResult & Partial<T> {
  const { image, reference, digest, mediaType } = resolved;
  const fields = { image, reference, digest, pinnedReference: formatReference(withDigest(resolved.ref, digest)), ...defined({ mediaType }) };
  // Each branch is checked against its member of the union; T's own fields (attestations) come along.
  if (!outcome.verified) {
    const failed: UnverifiedImageResult = { ...outcome, ...fields };
    return { ...outcome, ...failed };
  }
  const signer = outcome.signatures.find((s) => s.verified)?.signer;
  if (!signer) throw toImgverifyError(new Error('a verified image has no verified signature'));
  const verified: VerifiedImageResult = { ...outcome, verified: true, ...fields, signer };
  return { ...outcome, ...verified };
}

/** The images of `images`, until `signal` aborts (then no more are taken). */
async function* untilAborted<T>(images: Iterable<T> | AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  for await (const image of images) {
    if (signal?.aborted) return;
    yield image;
  }
}

const VERIFIER_OPTION_KEYS = keysOf<VerifierOptions>()(
  'trustedRoot',
  'registry',
  'registryClient',
  'signatureRepository',
  'attachmentTagPrefix',
  'maxSignatures',
  'concurrency',
  'timeoutMs',
);
const CALL_OPTION_KEYS = keysOf<VerifyCallOptions>()('signal');
const MANY_OPTION_KEYS = keysOf<VerifyManyOptions>()('signal', 'concurrency');
const ATTESTATION_OPTION_KEYS = keysOf<AttestationOptions>()('signal', 'predicateType', 'condition');
const BLOB_OPTION_KEYS = keysOf<BlobVerifyOptions>()('rekorUrl', 'offline', 'timeoutMs', 'ca', 'httpStack', 'signal');

export function createVerifier(options: VerifierOptions = {}): ImageVerifier {
  return new ImageVerifier(options);
}
