/**
 * The registry client: reads manifests, blobs and referrers, and nothing else (the library
 * never writes to a registry). One undici Agent per client keeps connections alive; tokens
 * and scheme probes are shared between calls.
 */
import { ImgverifyError } from '../errors';
import { parseReference } from '../reference';
import { lazy } from '../util/lazy';
import type { Authenticator } from './auth/authenticator';
import type { ResolvedOptions } from './options';
import type { ReferrersCapabilities } from './referrers';
import type { RegistryLimiter, RegistryLoad } from './transport/limiter';
import type { HttpStack } from './transport/http-stack';
import type { RegistryTransport } from './transport/transport';
import type {
  BlobOptions,
  CallCredentials,
  CallOptions,
  Manifest,
  ManifestOptions,
  Referrers,
  ReferrersOptions,
  RegistryClientOptions,
  RepositoryRef,
} from './types';

/**
 * The client's machinery, loaded when the first client is created: importing imgverify does
 * not load the HTTP stack, authentication and transport (bench/startup.ts). Each module's part
 * is named (see util/lazy.ts).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- loaded when first needed, see above */
const impl = lazy(() => {
  const { Authenticator } = require('./auth/authenticator') as typeof import('./auth/authenticator');
  const { CredentialStore } = require('./auth/credentials') as typeof import('./auth/credentials');
  const { fetchBlob } = require('./blob') as typeof import('./blob');
  const { contextDetails, describeRequest } = require('./context') as typeof import('./context');
  const { fetchManifest, headManifestDigest } = require('./manifest') as typeof import('./manifest');
  const { checkMaxBytes, resolveOptions, shareHttpStack } = require('./options') as typeof import('./options');
  const { ReferrersCapabilities, listReferrers } = require('./referrers') as typeof import('./referrers');
  const { HttpClient } = require('./transport/http') as typeof import('./transport/http');
  const { RegistryLimiter } = require('./transport/limiter') as typeof import('./transport/limiter');
  const { RegistryTransport } = require('./transport/transport') as typeof import('./transport/transport');
  return {
    Authenticator,
    CredentialStore,
    fetchBlob,
    contextDetails,
    describeRequest,
    fetchManifest,
    headManifestDigest,
    checkMaxBytes,
    resolveOptions,
    shareHttpStack,
    ReferrersCapabilities,
    listReferrers,
    HttpClient,
    RegistryLimiter,
    RegistryTransport,
  };
});
/* eslint-enable @typescript-eslint/no-require-imports */

export class RegistryClient {
  private readonly options: ResolvedOptions;
  private readonly stack: HttpStack;
  /** Whether this client created its HTTP stack (and so closes it). */
  private readonly ownsStack: boolean;
  private readonly transport: RegistryTransport;
  private readonly auth: Authenticator;
  private readonly referrersApi: ReferrersCapabilities;
  private readonly limiter: RegistryLimiter;
  private closed = false;

  constructor(options: RegistryClientOptions = {}) {
    const { Authenticator, CredentialStore, HttpClient, RegistryTransport, resolveOptions, shareHttpStack } = impl();
    this.options = resolveOptions(options);
    this.ownsStack = this.options.httpStack === undefined;
    this.stack = this.options.httpStack ?? shareHttpStack(options).stack;
    const http = new HttpClient(this.stack, this.options.userAgent, this.options.timeoutMs);
    const store = new CredentialStore(this.options.credentials, this.options.credentialFiles, this.options.env, this.options.credentialProviders);
    const auth = new Authenticator(http, this.options.retry, store, this.options.allowance);
    this.auth = auth;
    // The stack's connection limit, whether the stack is this client's or shared (shareHttpStack).
    this.limiter = new (impl().RegistryLimiter)(this.stack.maxConnectionsPerHost);
    this.transport = new RegistryTransport(http, auth, this.options.allowance, this.options.retry, this.limiter);
    this.referrersApi = new (impl().ReferrersCapabilities)();
  }

  /** The manifest at a tag or digest; IMAGE_NOT_FOUND when there is none. */
  async getManifest(ref: RepositoryRef, tagOrDigest: string, opts: ManifestOptions = {}): Promise<Manifest> {
    const manifest = await this.manifest(ref, tagOrDigest, opts, false);
    return manifest!;
  }

  /** Like getManifest, but null when the registry answers 404 (for probing tags such as `sha256-<hex>.sig`). */
  findManifest(ref: RepositoryRef, tagOrDigest: string, opts: ManifestOptions = {}): Promise<Manifest | null> {
    return this.manifest(ref, tagOrDigest, opts, true);
  }

  /**
   * The manifest digest a tag points to now, without its body where the registry allows: a HEAD
   * request's sha256 Docker-Content-Digest (not counted against Docker Hub's pull limits), else
   * the manifest fetched and hashed. A HEAD's digest is the registry's claim: verify and pin
   * exactly it (every byte fetched by digest is checked against it). IMAGE_NOT_FOUND when the
   * tag does not exist.
   */
  async tagDigest(ref: RepositoryRef, tag: string, opts: CallOptions = {}): Promise<string> {
    const repo = this.begin(ref);
    const { headManifestDigest } = impl();
    const credentials = checkCallCredentials(opts.credentials);
    const announced = await this.bounded(repo, `manifest "${tag}"`, opts.signal, (signal) =>
      headManifestDigest(this.transport, repo, tag, { maxBytes: this.options.maxManifestBytes, signal, ...credentials }),
    );
    return announced ?? (await this.getManifest(ref, tag, opts)).digest;
  }

  /** A blob's bytes, verified against its digest. */
  async getBlob(ref: RepositoryRef, digest: string, opts: BlobOptions = {}): Promise<Buffer> {
    const repo = this.begin(ref);
    const { checkMaxBytes, fetchBlob } = impl();
    const maxBytes = checkMaxBytes(opts.maxBytes, this.options.maxBlobBytes);
    const credentials = checkCallCredentials(opts.credentials);
    return this.bounded(repo, `blob ${digest}`, opts.signal, (signal) => fetchBlob(this.transport, repo, digest, { maxBytes, signal, ...credentials }));
  }

  /** Manifests whose `subject` is `digest`: from the referrers API, or the referrers tag. */
  async listReferrers(ref: RepositoryRef, digest: string, opts: ReferrersOptions = {}): Promise<Referrers> {
    const repo = this.begin(ref);
    if (opts.artifactType !== undefined && typeof opts.artifactType !== 'string') {
      throw new ImgverifyError('INVALID_OPTIONS', 'listReferrers: artifactType must be a string');
    }
    const { fetchManifest, listReferrers } = impl();
    const credentials = checkCallCredentials(opts.credentials);
    return this.bounded(repo, `referrers of ${digest}`, opts.signal, (signal) =>
      listReferrers(
        {
          transport: this.transport,
          findManifest: (r, tag, s) =>
            fetchManifest(this.transport, r, tag, { maxBytes: this.options.maxManifestBytes, allowMissing: true, ...(s ? { signal: s } : {}), ...credentials }),
          maxPageBytes: this.options.maxManifestBytes,
          capabilities: this.referrersApi,
        },
        repo,
        digest,
        { ...(opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {}), signal, ...credentials },
      ),
    );
  }

  /**
   * @internal Requests in flight and waiting at a registry, and the cap in force (lowered
   * while the registry answers 429, then raised back to `maxConnectionsPerHost`).
   */
  registryLoad(registry: string): RegistryLoad {
    return this.limiter.load(registry.toLowerCase());
  }

  /** The credential files this client consults, in order (whether or not they exist). */
  get credentialFiles(): readonly string[] {
    return this.options.credentialFiles.map((f) => f.path);
  }

  /**
   * Re-reads credential files and re-runs credential helpers at the next authentication, and
   * drops cached tokens (for a mounted Secret that changed; the webhook calls this).
   */
  reloadCredentials(): void {
    this.auth.reloadCredentials();
  }

  /** Closes pooled connections; the client cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsStack) await this.stack.close();
  }

  private manifest(ref: RepositoryRef, tagOrDigest: string, opts: ManifestOptions, allowMissing: boolean): Promise<Manifest | null> {
    const repo = this.begin(ref);
    if (opts.accept !== undefined && !(Array.isArray(opts.accept) && opts.accept.every((t) => typeof t === 'string' && /^[\x21-\x7e]+$/.test(t)))) {
      throw new ImgverifyError('INVALID_OPTIONS', 'accept must be a list of media types');
    }
    const { checkMaxBytes, fetchManifest } = impl();
    const maxBytes = checkMaxBytes(opts.maxBytes, this.options.maxManifestBytes);
    const credentials = checkCallCredentials(opts.credentials);
    return this.bounded(repo, tagOrDigest.includes(':') ? `manifest ${tagOrDigest}` : `manifest "${tagOrDigest}"`, opts.signal, (signal) =>
      fetchManifest(this.transport, repo, tagOrDigest, { maxBytes, ...(opts.accept ? { accept: opts.accept } : {}), allowMissing, signal, ...credentials }),
    );
  }

  /**
   * Runs one call under one deadline (`timeoutMs`) that covers every exchange it makes:
   * scheme probe, token fetches, redirects, retries and Retry-After waits, and pages. The
   * call's and the client's signals abort it too; their reasons pass through unchanged.
   */
  private async bounded<T>(repo: RepositoryRef, subject: string, callSignal: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    const outer = this.signal(callSignal);
    const signal = outer === undefined ? deadline : AbortSignal.any([outer, deadline]);
    try {
      return await run(signal);
    } catch (err) {
      if (deadline.aborted && !outer?.aborted && !(err instanceof ImgverifyError && err.code === 'REGISTRY_TIMEOUT')) {
        const ctx = { registry: repo.registry, repository: repo.repository, subject };
        const { contextDetails, describeRequest } = impl();
        throw new ImgverifyError(
          'REGISTRY_TIMEOUT',
          `${describeRequest(ctx)}: no complete answer within ${this.options.timeoutMs} ms (redirects, retries and token requests included)`,
          {
            cause: err,
            details: { ...contextDetails(ctx), timeoutMs: this.options.timeoutMs },
          },
        );
      }
      throw err;
    }
  }

  private begin(ref: RepositoryRef): RepositoryRef {
    if (this.closed) throw new ImgverifyError('INVALID_OPTIONS', 'the registry client is closed');
    return checkRepository(ref);
  }

  private signal(call: AbortSignal | undefined): AbortSignal | undefined {
    const client = this.options.signal;
    if (call === undefined) return client;
    if (client === undefined) return call;
    return AbortSignal.any([call, client]);
  }
}

/** A call's `credentials`, checked (JavaScript callers may pass anything), as options to spread. */
function checkCallCredentials(credentials: CallCredentials | undefined): { credentials?: CallCredentials } {
  if (credentials === undefined) return {};
  if (typeof credentials !== 'object' || credentials === null || typeof credentials.lookup !== 'function') {
    throw new ImgverifyError('INVALID_OPTIONS', 'credentials must be an object with a lookup(registry, repository, signal) method');
  }
  return { credentials };
}

/**
 * The registry and repository, checked against the reference grammar: both go into URLs, so
 * a hand-built ref (not from parseReference) must not smuggle in path segments or hosts.
 */
function checkRepository(ref: RepositoryRef): RepositoryRef {
  if (typeof ref !== 'object' || ref === null || typeof ref.registry !== 'string' || typeof ref.repository !== 'string') {
    throw new ImgverifyError('INVALID_OPTIONS', 'expected a {registry, repository} reference');
  }
  const parsed = parseReference(`${ref.registry}/${ref.repository}`);
  if (parsed.registry !== ref.registry.toLowerCase() || parsed.repository !== ref.repository) {
    throw new ImgverifyError(
      'INVALID_REFERENCE',
      `"${ref.registry}/${ref.repository}" is not a normalised registry and repository (expected ${parsed.registry}/${parsed.repository})`,
      { details: { registry: ref.registry, repository: ref.repository } },
    );
  }
  return { registry: parsed.registry, repository: parsed.repository };
}
