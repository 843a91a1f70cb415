/**
 * The webhook's VerificationBackend over the library: one registry client (connections,
 * tokens, the mounted docker config) and one trust root for the process; per image and
 * request a session that
 *   - resolves the tag once and hands the fetched manifest to the verifier, so a
 *     digest-pinned `verify()` does not fetch it again;
 *   - shares every registry answer between the policies and authorities evaluated for the
 *     image (the `.sig` manifest and blobs are fetched once, however many authorities);
 *   - aborts its registry requests when the request's deadline passes;
 *   - sends the admitted object's credentials (its pull secrets) with its registry requests,
 *     before the client's own: they serve this session only (the client keys tokens by
 *     credential, so nothing obtained with them serves another object);
 *   - sends a source's signaturePullSecrets, instead, with the requests to that source's
 *     signature repository (and only those: the image's own repository keeps the object's),
 *     through a reader of their own (nothing fetched with one set of credentials is memoised
 *     for another).
 *   - with `tagCache`, answers a tag from the tags resolved in the background (./tag-cache,
 *     per credential scope), so a warm admission by tag makes no registry request.
 * The library's ImageVerifier does the verification; it is used as is, with the session's
 * reader as its registry client.
 */
import {
  createVerifier,
  type CallCredentials,
  parseReference,
  RegistryClient,
  repositoryName,
  type FetchedManifest,
  type ImageReference,
  type ImageVerifier,
  type PreparedPolicy,
  type ReadOptions,
  type ReferrersListing,
  type RegistryClientOptions,
  type RegistryReader,
  type RepositoryRef,
  type TrustRootInput,
  type VerificationPolicy,
} from '../index';
import type { EvaluationCredentials, PrepareOptions, SignatureReadOptions, VerificationBackend, VerificationSession } from './backend';
import { TagCache, type TagCacheOptions } from './tag-cache';

/** Where a prepared policy verifies: its trust (else the backend's), signature repository (else beside the image) and tag prefix. */
interface Place {
  readonly trust?: readonly TrustRootInput[];
  readonly repository?: string;
  readonly tagPrefix?: string;
}

/** The verifier options of a place's signature location. */
function locationOptions(place: Place): { signatureRepository?: string; attachmentTagPrefix?: string } {
  return {
    ...(place.repository !== undefined ? { signatureRepository: place.repository } : {}),
    ...(place.tagPrefix !== undefined ? { attachmentTagPrefix: place.tagPrefix } : {}),
  };
}

export interface VerifierBackendOptions {
  /**
   * The default trust: `trusted_root.json` paths, their JSON, loaded roots or providers (a TUF
   * root); several are tried in turn. Default: the embedded public-good root.
   */
  readonly trustedRoot?: TrustRootInput | readonly TrustRootInput[] | undefined;
  /** Registry client options (docker config path, http, CA, timeouts). */
  readonly registry?: RegistryClientOptions | undefined;
  /**
   * Keep the tags admissions name resolved, refreshed in the background (./tag-cache); default:
   * every tag is resolved by each session (a dry run, `policy test`).
   */
  readonly tagCache?: TagCacheOptions | undefined;
}

/** Memoises a registry client's answers for one session, and aborts them with its signal. */
class SessionReader implements RegistryReader {
  private readonly memo = new Map<string, Promise<unknown>>();

  /** Every call's options: the session's signal, and the admitted object's credentials. */
  private readonly call: { readonly signal: AbortSignal; readonly credentials?: CallCredentials };

  constructor(
    private readonly client: RegistryClient,
    signal: AbortSignal,
    credentials?: CallCredentials,
  ) {
    this.call = { signal, ...(credentials ? { credentials } : {}) };
  }

  // Answers are shared within the session, so they run under the session's deadline (a
  // caller's own deadline, e.g. the verifier's per-image one, is never shorter here).
  getManifest(repo: RepositoryRef, tagOrDigest: string): Promise<FetchedManifest> {
    return this.once(`manifest ${repositoryName(repo)} ${tagOrDigest}`, () => this.client.getManifest(repo, tagOrDigest, this.call));
  }

  findManifest(repo: RepositoryRef, tagOrDigest: string): Promise<FetchedManifest | null> {
    return this.once(`find ${repositoryName(repo)} ${tagOrDigest}`, () => this.client.findManifest(repo, tagOrDigest, this.call));
  }

  getBlob(repo: RepositoryRef, digest: string, options: ReadOptions & { maxBytes?: number } = {}): Promise<Buffer> {
    return this.once(`blob ${repositoryName(repo)} ${digest} ${options.maxBytes ?? ''}`, () =>
      this.client.getBlob(repo, digest, { ...this.call, ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}) }),
    );
  }

  listReferrers(repo: RepositoryRef, digest: string, options: ReadOptions & { artifactType?: string } = {}): Promise<ReferrersListing> {
    return this.once(`referrers ${repositoryName(repo)} ${digest} ${options.artifactType ?? ''}`, () =>
      this.client.listReferrers(repo, digest, { ...this.call, ...(options.artifactType !== undefined ? { artifactType: options.artifactType } : {}) }),
    );
  }

  /** A manifest fetched by tag is also the manifest at its digest (its bytes hash to it). */
  remember(repo: RepositoryRef, manifest: FetchedManifest): void {
    this.memo.set(`manifest ${repositoryName(repo)} ${manifest.digest}`, Promise.resolve(manifest));
  }

  private once<T>(key: string, fetch: () => Promise<T>): Promise<T> {
    let promise = this.memo.get(key) as Promise<T> | undefined;
    if (promise === undefined) {
      promise = fetch();
      this.memo.set(key, promise);
    }
    return promise;
  }
}

/**
 * A source's signature repository read with its signaturePullSecrets, everything else (the
 * image's own repository: its OCI referrers) with the session's credentials. Requests are
 * routed by repository, so a Secret's credential never goes to the image's repository, even
 * on the same registry or when the Secret has an entry for the image's registry.
 */
class SignatureRepositoryReader implements RegistryReader {
  constructor(
    private readonly signatures: RegistryReader,
    private readonly others: RegistryReader,
    private readonly repository: string,
  ) {}

  private readerFor(repo: RepositoryRef): RegistryReader {
    return repositoryName(repo) === this.repository ? this.signatures : this.others;
  }

  getManifest(repo: RepositoryRef, tagOrDigest: string, options?: ReadOptions): Promise<FetchedManifest> {
    return this.readerFor(repo).getManifest(repo, tagOrDigest, options);
  }

  findManifest(repo: RepositoryRef, tagOrDigest: string, options?: ReadOptions): Promise<FetchedManifest | null> {
    return this.readerFor(repo).findManifest(repo, tagOrDigest, options);
  }

  getBlob(repo: RepositoryRef, digest: string, options?: ReadOptions & { maxBytes?: number }): Promise<Buffer> {
    return this.readerFor(repo).getBlob(repo, digest, options);
  }

  listReferrers(repo: RepositoryRef, digest: string, options?: ReadOptions & { artifactType?: string }): Promise<ReferrersListing> {
    return this.readerFor(repo).listReferrers(repo, digest, options);
  }
}

export class VerifierBackend implements VerificationBackend {
  readonly verifier: ImageVerifier;
  private readonly client: RegistryClient;
  /** Where policies prepared with their own trust (TrustRoots) or signature repository verify. */
  private readonly placeOf = new WeakMap<PreparedPolicy, Place>();
  private readonly tags: TagCache | undefined;

  constructor(options: VerifierBackendOptions = {}) {
    this.client = new RegistryClient(options.registry);
    this.verifier = createVerifier({ ...(options.trustedRoot !== undefined ? { trustedRoot: options.trustedRoot } : {}), registryClient: this.client });
    // Background refreshes ask with a HEAD (./tag-cache): no manifest body, not counted as a pull by Docker Hub.
    this.tags = options.tagCache
      ? new TagCache(options.tagCache, (ref, signal, credentials) =>
          this.client.tagDigest(ref, ref.tag ?? 'latest', { signal, ...(credentials ? { credentials } : {}) }),
        )
      : undefined;
  }

  /** Tags kept resolved (0 without a tag cache). */
  get tagCacheSize(): number {
    return this.tags?.size ?? 0;
  }

  prepare(policy: VerificationPolicy, trust?: readonly TrustRootInput[], options: PrepareOptions = {}): PreparedPolicy {
    const place: Place = {
      ...(trust ? { trust } : {}),
      ...(options.signatureRepository !== undefined ? { repository: options.signatureRepository } : {}),
      ...(options.attachmentTagPrefix !== undefined ? { tagPrefix: options.attachmentTagPrefix } : {}),
    };
    // Checked now (a repository name or prefix the verifier would refuse), not at the first admission.
    if (Object.keys(locationOptions(place)).length > 0)
      createVerifier({ trustedRoot: trust ?? this.verifier.trustSources, registryClient: this.client, ...locationOptions(place) });
    // A plain policy object is compiled into a new prepared policy, bound here to its place.
    const prepared = this.verifier.preparePolicy(policy);
    if (Object.keys(place).length > 0) this.placeOf.set(prepared, place);
    return prepared;
  }

  defaultTrust(): readonly TrustRootInput[] {
    return this.verifier.trustSources;
  }

  session(signal: AbortSignal, credentials?: CallCredentials, credentialScope?: string): VerificationSession {
    // The session's reader is its own: what it memoises was fetched with this object's credentials.
    const reader = new SessionReader(this.client, signal, credentials);
    // signaturePullSecrets: one reader per set of credentials (by fingerprint), for this session.
    const secretReaders = new Map<string, SessionReader>();
    const secretReader = (c: EvaluationCredentials): SessionReader => {
      let found = secretReaders.get(c.fingerprint);
      if (!found) secretReaders.set(c.fingerprint, (found = new SessionReader(this.client, signal, c.credentials)));
      return found;
    };
    // A verifier is trust, a registry reader and where signatures are: cheap to make, one per
    // session, place and signature credentials.
    const verifiers = new Map<readonly TrustRootInput[] | undefined, Map<string, ImageVerifier>>();
    const verifierFor = (policy: PreparedPolicy, read: SignatureReadOptions = {}): ImageVerifier => {
      const place = this.placeOf.get(policy) ?? {};
      let byLocation = verifiers.get(place.trust);
      if (!byLocation) verifiers.set(place.trust, (byLocation = new Map<string, ImageVerifier>()));
      const secrets = read.signatureCredentials;
      const location = `${place.repository ?? ''}\0${place.tagPrefix ?? ''}\0${secrets?.fingerprint ?? ''}`;
      let verifier = byLocation.get(location);
      if (!verifier) {
        // Signatures in another repository: only that repository is read with the Secrets.
        // Beside the image: the image's repository is where they are (the tag was resolved
        // with the object's credentials already, and a pinned image is not fetched).
        const registryClient = !secrets
          ? reader
          : place.repository !== undefined
            ? new SignatureRepositoryReader(secretReader(secrets), reader, repositoryName(parseReference(place.repository)))
            : secretReader(secrets);
        verifier = createVerifier({ trustedRoot: place.trust ?? this.verifier.trustSources, registryClient, ...locationOptions(place) });
        byLocation.set(location, verifier);
      }
      return verifier;
    };
    // Asked now, the manifest serves this session's verification too (no second fetch).
    const resolveNow = async (ref: ImageReference): Promise<string> => {
      const manifest = await reader.getManifest(ref, ref.tag!);
      reader.remember(ref, manifest);
      return manifest.digest;
    };
    const tagScope = { ...(credentialScope !== undefined ? { fingerprint: credentialScope } : {}), ...(credentials ? { credentials } : {}) };
    // Tags this session answered from resolutions kept from before it (resolveAgain may ask anew).
    const keptTags = new Set<string>();
    const tagKey = (ref: ImageReference): string => `${ref.registry}/${ref.repository}:${ref.tag ?? 'latest'}`;
    return {
      resolve: async (ref) => {
        if (!this.tags) return resolveNow(ref);
        const { digest, kept } = await this.tags.lookup(ref, tagScope, () => resolveNow(ref), signal);
        if (kept) keptTags.add(tagKey(ref));
        return digest;
      },
      resolveAgain: async (ref) => {
        if (!this.tags || !keptTags.delete(tagKey(ref))) return undefined;
        return this.tags.resolveAgain(ref, tagScope, () => resolveNow(ref), signal);
      },
      verify: (pinned, policy, options) => verifierFor(policy, options).verify(pinned, policy),
      verifyAttestations: (pinned, policy, { signatureCredentials, ...options }) =>
        verifierFor(policy, signatureCredentials ? { signatureCredentials } : {}).verifyAttestations(pinned, policy, options),
    };
  }

  /** The registry credential files in use (watched by the server for changes). */
  credentialFiles(): readonly string[] {
    return this.client.credentialFiles;
  }

  /** Credential files changed: read them (and run helpers) again, drop tokens. */
  reloadCredentials(): void {
    this.client.reloadCredentials();
  }

  async close(): Promise<void> {
    this.tags?.close();
    await this.client.close();
  }
}
