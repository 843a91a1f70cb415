/**
 * OCI 1.1 referrers of a manifest: the referrers API (`GET /v2/<name>/referrers/<digest>`,
 * paginated with Link rel="next"), or, where the registry answers 404 (or 405) because it has
 * no such API, the OCI index at the referrers tag (`sha256-<hex>`). A listing that fails is an
 * error, never an empty list: an empty list would read as "no signatures".
 *
 * Whether a registry has the API is learned once and shared (`ReferrersCapabilities`): the
 * distribution spec makes it a property of the registry ("if the registry supports the
 * referrers API, the registry MUST NOT return a 404", the request "assuming a repository is
 * found"), so one probe answers for every repository, and calls that start while it runs wait
 * for it instead of probing too. Only a definite answer is learned: an index (the API exists),
 * or a 404/405 or a non-index 200 (it does not). A 404 that says the repository is unknown
 * (NAME_UNKNOWN) says nothing about the registry: that call reads the tag, nothing is learned
 * (oras-go draws the same line). An error (5xx, 401/403, a timeout, the caller's abort) is that
 * call's operational failure and teaches nothing: the calls waiting on it probe for themselves.
 * "No API" is re-checked after a while, for a long-running process whose registry is upgraded.
 */
import { ImgverifyError } from '../errors';
import { parseDigest } from '../reference';
import { abortable } from '../util/abort';
import { parseImageIndex, parseJsonObject } from './content';
import { isRecord } from '../util/shape';
import { contextDetails, describeRequest, displayUrl, type RequestContext } from './context';
import { nextLink } from './link';
import { OCI_INDEX, baseMediaType } from './media-types';
import { parseRegistryErrors } from './registry-errors';
import type { RegistryResponse, RegistryTransport } from './transport/transport';
import type { CallCredentials, Descriptor, Manifest, Referrers, RepositoryRef } from './types';

const MAX_REFERRERS_PAGES = 64;

/** How long "this registry has no referrers API" is believed before it is probed again. */
const REFERRERS_UNSUPPORTED_TTL_MS = 15 * 60_000;

/**
 * What is known of each registry's referrers API, and the probe in flight for each registry
 * where nothing is known yet (see the module comment).
 */
export class ReferrersCapabilities {
  private readonly known = new Map<string, { readonly supported: boolean; readonly until: number }>();
  private readonly probes = new Map<string, Promise<void>>();

  constructor(
    private readonly unsupportedTtlMs = REFERRERS_UNSUPPORTED_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** true / false when known, else undefined. */
  supported(registry: string): boolean | undefined {
    const entry = this.known.get(registry);
    if (entry === undefined) return undefined;
    if (entry.until <= this.now()) {
      this.known.delete(registry);
      return undefined;
    }
    return entry.supported;
  }

  /** The probe in flight for a registry where nothing is known, if any. */
  probe(registry: string): Promise<void> | undefined {
    return this.probes.get(registry);
  }

  /** Marks a probe in flight; the returned function ends it (the waiters then look again). */
  startProbe(registry: string): () => void {
    let end!: () => void;
    const probe = new Promise<void>((resolve) => (end = resolve));
    this.probes.set(registry, probe);
    return () => {
      if (this.probes.get(registry) === probe) this.probes.delete(registry);
      end();
    };
  }

  learn(registry: string, supported: boolean): void {
    this.known.set(registry, { supported, until: supported ? Infinity : this.now() + this.unsupportedTtlMs });
  }
}

export interface ReferrersDeps {
  readonly transport: RegistryTransport;
  readonly findManifest: (ref: RepositoryRef, tag: string, signal?: AbortSignal) => Promise<Manifest | null>;
  readonly maxPageBytes: number;
  /** The client's knowledge of each registry's referrers API, shared by its calls. */
  readonly capabilities: ReferrersCapabilities;
}

/** What the referrers API said: the listing, no such API, or a repository it does not know. */
type ApiAnswer = { readonly descriptors: Descriptor[] } | { readonly missing: 'api' | 'repository' };

/** The referrers tag of a digest: algorithm and encoded part, truncated and sanitised per the spec. */
export function referrersTag(digest: string): string {
  const colon = digest.indexOf(':');
  const clean = (s: string) => s.replace(/[^a-zA-Z0-9._-]/g, '-');
  return `${clean(digest.slice(0, colon).slice(0, 32))}-${clean(digest.slice(colon + 1).slice(0, 64))}`;
}

export async function listReferrers(
  deps: ReferrersDeps,
  ref: RepositoryRef,
  digest: string,
  opts: { readonly artifactType?: string; readonly signal?: AbortSignal; readonly credentials?: CallCredentials },
): Promise<Referrers> {
  parseDigest(digest);
  const { capabilities } = deps;
  const registry = ref.registry;
  const fromTagSchema = async (): Promise<Referrers> => ({
    descriptors: filter(await fromTag(deps, ref, digest, opts.signal), opts.artifactType),
    source: 'tag-schema',
  });
  for (let waited = false; ;) {
    const supported = capabilities.supported(registry);
    if (supported === false) return fromTagSchema();
    const inFlight = supported === undefined ? capabilities.probe(registry) : undefined;
    if (inFlight !== undefined && !waited) {
      // Another call is finding out: wait for its answer (under this call's deadline).
      await abortable(inFlight, opts.signal);
      waited = true;
      continue;
    }
    // Known to exist, or unknown with no probe in flight (this call is the probe), or unknown
    // after a probe that taught nothing (this call asks for itself).
    const endProbe = supported === undefined && inFlight === undefined ? capabilities.startProbe(registry) : undefined;
    try {
      const answer = await fromApi(deps, ref, digest, opts);
      if ('descriptors' in answer) {
        capabilities.learn(registry, true);
        return { descriptors: filter(answer.descriptors, opts.artifactType), source: 'referrers-api' };
      }
      // A registry known to have the API that answers 404 anyway: this call reads the tag, as the
      // spec tells clients to, and what is known stays (one repository's answer, not the registry's).
      if (answer.missing === 'api' && supported === undefined) capabilities.learn(registry, false);
    } finally {
      endProbe?.();
    }
    return fromTagSchema();
  }
}

/** All pages from the referrers API, or why there are none: no such API, or an unknown repository. */
async function fromApi(
  deps: ReferrersDeps,
  ref: RepositoryRef,
  digest: string,
  opts: { readonly artifactType?: string; readonly signal?: AbortSignal; readonly credentials?: CallCredentials },
): Promise<ApiAnswer> {
  const ctx: RequestContext = { registry: ref.registry, repository: ref.repository, subject: `referrers of ${digest}`, reference: digest };
  const endpoint = `/v2/${ref.repository}/referrers/${digest}`;
  let path = opts.artifactType !== undefined ? `${endpoint}?artifactType=${encodeURIComponent(opts.artifactType)}` : endpoint;
  const seen = new Set<string>();
  const descriptors: Descriptor[] = [];
  for (let page = 0; ; page++) {
    seen.add(path);
    const res = await deps.transport.get({
      ctx,
      path,
      accept: [OCI_INDEX],
      maxBytes: deps.maxPageBytes,
      // Only the first page may tell us the API is missing; later pages must exist.
      passStatuses: page === 0 ? [404, 405] : [],
      notFound: 'REGISTRY_ERROR',
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
    });
    if (res.status === 404 && parseRegistryErrors(res.body).codes.includes('NAME_UNKNOWN')) return { missing: 'repository' };
    if (res.status !== 200) return { missing: 'api' };
    const what = `${describeRequest(ctx)} (page ${page + 1}, ${displayUrl(res.url)})`;
    const details = contextDetails(ctx, res.url);
    if (page === 0 && !looksLikeIndex(res)) return { missing: 'api' };
    const json = parseJsonObject(res.body, what, details);
    if (json.mediaType !== undefined && json.mediaType !== OCI_INDEX) {
      throw new ImgverifyError('MALFORMED_CONTENT', `${what}: mediaType is not ${OCI_INDEX}`, { details });
    }
    descriptors.push(...parseImageIndex(json, what, details).manifests);

    const next = nextLink(res.headerValues('link'));
    if (next === undefined) return { descriptors };
    path = await nextPath(deps, ctx, res, next, endpoint, opts.signal);
    if (seen.has(path)) {
      throw new ImgverifyError('REGISTRY_ERROR', `${what}: pagination loops back to an earlier page`, { details });
    }
    if (page + 1 >= MAX_REFERRERS_PAGES) {
      throw new ImgverifyError('REGISTRY_ERROR', `${describeRequest(ctx)}: more than ${MAX_REFERRERS_PAGES} pages of referrers`, { details });
    }
  }
}

/**
 * A 200 that is not an OCI index comes from a registry that routes unknown paths somewhere
 * else; go-containerregistry treats it as "no referrers API" too.
 */
function looksLikeIndex(res: RegistryResponse): boolean {
  if (baseMediaType(res.header('content-type')) === OCI_INDEX) return true;
  try {
    const json: unknown = JSON.parse(res.body.toString('utf8'));
    return isRecord(json) && json.mediaType === OCI_INDEX && Array.isArray(json.manifests);
  } catch {
    return false;
  }
}

/** The next page, which must stay on the registry's origin and referrers endpoint. */
async function nextPath(
  deps: ReferrersDeps,
  ctx: RequestContext,
  res: RegistryResponse,
  link: string,
  endpoint: string,
  signal?: AbortSignal,
): Promise<string> {
  const origin = await deps.transport.origin(ctx, signal);
  const next = URL.canParse(link, res.url.href) ? new URL(link, res.url.href) : undefined;
  if (next === undefined || next.origin !== origin.origin || next.pathname !== endpoint) {
    throw new ImgverifyError('REGISTRY_ERROR', `${describeRequest(ctx)}: refusing to follow a pagination link that leaves ${origin.origin}${endpoint}`, {
      details: contextDetails(ctx, res.url),
    });
  }
  return `${next.pathname}${next.search}`;
}

async function fromTag(deps: ReferrersDeps, ref: RepositoryRef, digest: string, signal?: AbortSignal): Promise<readonly Descriptor[]> {
  const tag = referrersTag(digest);
  const manifest = await deps.findManifest(ref, tag, signal);
  if (manifest === null) return [];
  if (manifest.content.kind !== 'index' || manifest.mediaType !== OCI_INDEX) {
    throw new ImgverifyError('MALFORMED_CONTENT', `referrers tag "${tag}" of ${ref.registry}/${ref.repository} holds ${manifest.mediaType}, not an OCI index`, {
      details: { registry: ref.registry, repository: ref.repository, reference: tag, mediaType: manifest.mediaType },
    });
  }
  return manifest.content.manifests;
}

// Filtered here whatever OCI-Filters-Applied says: a registry may ignore the filter, or claim it.
function filter(descriptors: readonly Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType === undefined ? [...descriptors] : descriptors.filter((d) => d.artifactType === artifactType);
}
