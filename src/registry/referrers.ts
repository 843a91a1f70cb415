/**
 * OCI 1.1 referrers of a manifest: the referrers API (`GET /v2/<name>/referrers/<digest>`,
 * paginated with Link rel="next"), or, where the registry answers 404 (or 405) because it has
 * no such API, the OCI index at the referrers tag (`sha256-<hex>`). A listing that fails is an
 * error, never an empty list: an empty list would read as "no signatures".
 */
import { ImgverifyError } from '../errors';
import { parseDigest } from '../reference';
import { parseImageIndex, parseJsonObject } from './content';
import { isRecord } from '../util/shape';
import { contextDetails, describeRequest, displayUrl, type RequestContext } from './context';
import { nextLink } from './link';
import { OCI_INDEX, baseMediaType } from './media-types';
import type { RegistryResponse, RegistryTransport } from './transport/transport';
import type { CallCredentials, Descriptor, Manifest, Referrers, RepositoryRef } from './types';

export const MAX_REFERRERS_PAGES = 64;

export interface ReferrersDeps {
  readonly transport: RegistryTransport;
  readonly findManifest: (ref: RepositoryRef, tag: string, signal?: AbortSignal) => Promise<Manifest | null>;
  readonly maxPageBytes: number;
  /**
   * Registries known to lack the API, so later calls go straight to the tag. The spec makes
   * it a property of the registry (one supporting it "MUST NOT return a 404" there), so a
   * batch over many repositories probes once, not once per repository.
   */
  readonly unsupported: Set<string>;
}

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
  const key = ref.registry;
  const found = deps.unsupported.has(key) ? undefined : await fromApi(deps, ref, digest, opts);
  if (found !== undefined) return { descriptors: filter(found, opts.artifactType), source: 'referrers-api' };
  deps.unsupported.add(key);
  return { descriptors: filter(await fromTag(deps, ref, digest, opts.signal), opts.artifactType), source: 'tag-schema' };
}

/** All pages from the referrers API, or undefined when the registry has no such API. */
async function fromApi(
  deps: ReferrersDeps,
  ref: RepositoryRef,
  digest: string,
  opts: { readonly artifactType?: string; readonly signal?: AbortSignal; readonly credentials?: CallCredentials },
): Promise<Descriptor[] | undefined> {
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
    if (res.status !== 200) return undefined;
    const what = `${describeRequest(ctx)} (page ${page + 1}, ${displayUrl(res.url)})`;
    const details = contextDetails(ctx, res.url);
    if (page === 0 && !looksLikeIndex(res)) return undefined;
    const json = parseJsonObject(res.body, what, details);
    if (json.mediaType !== undefined && json.mediaType !== OCI_INDEX) {
      throw new ImgverifyError('MALFORMED_CONTENT', `${what}: mediaType is not ${OCI_INDEX}`, { details });
    }
    descriptors.push(...parseImageIndex(json, what, details).manifests);

    const next = nextLink(res.headerValues('link'));
    if (next === undefined) return descriptors;
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
    throw new ImgverifyError(
      'REGISTRY_ERROR',
      `${describeRequest(ctx)}: refusing to follow a pagination link that leaves ${origin.origin}${endpoint}`,
      { details: contextDetails(ctx, res.url) },
    );
  }
  return `${next.pathname}${next.search}`;
}

async function fromTag(deps: ReferrersDeps, ref: RepositoryRef, digest: string, signal?: AbortSignal): Promise<readonly Descriptor[]> {
  const tag = referrersTag(digest);
  const manifest = await deps.findManifest(ref, tag, signal);
  if (manifest === null) return [];
  if (manifest.content.kind !== 'index' || manifest.mediaType !== OCI_INDEX) {
    throw new ImgverifyError(
      'MALFORMED_CONTENT',
      `referrers tag "${tag}" of ${ref.registry}/${ref.repository} holds ${manifest.mediaType}, not an OCI index`,
      { details: { registry: ref.registry, repository: ref.repository, reference: tag, mediaType: manifest.mediaType } },
    );
  }
  return manifest.content.manifests;
}

// Filtered here whatever OCI-Filters-Applied says: a registry may ignore the filter, or claim it.
function filter(descriptors: readonly Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType === undefined ? [...descriptors] : descriptors.filter((d) => d.artifactType === artifactType);
}
