/**
 * Fetching a manifest by tag or digest. The digest is always computed from the bytes
 * received: asked by digest, the bytes must hash to it (and it is the digest returned);
 * asked by tag, the sha256 of the bytes is returned, and they must hash to the
 * Docker-Content-Digest the registry announces, when it announces one.
 */
import { ImgverifyError } from '../errors';
import { parseDigest } from '../reference';
import { parseImageIndex, parseImageManifest, parseJsonObject, type JsonObject } from './content';
import { contextDetails, describeRequest, displayUrl, type RequestContext } from './context';
import { computeDigest, isDigestString, isSupportedAlgorithm, verifyDigest } from './digest';
import { DEFAULT_MANIFEST_TYPES, OCI_INDEX, OCI_MANIFEST, baseMediaType, isMediaType, manifestKind } from './media-types';
import type { RegistryResponse, RegistryTransport } from './transport/transport';
import type { CallCredentials, Manifest, ManifestContent, RepositoryRef } from './types';

const TAG_RE = /^[\w][\w.-]{0,127}$/;

export interface FetchManifestOptions {
  readonly maxBytes: number;
  readonly accept?: readonly string[];
  /** Resolve to null on 404 instead of throwing IMAGE_NOT_FOUND. */
  readonly allowMissing: boolean;
  readonly signal?: AbortSignal;
  readonly credentials?: CallCredentials;
}

export async function fetchManifest(
  transport: RegistryTransport,
  ref: RepositoryRef,
  tagOrDigest: string,
  opts: FetchManifestOptions,
): Promise<Manifest | null> {
  const byDigest = classifyReference(tagOrDigest) === 'digest';
  const ctx: RequestContext = {
    registry: ref.registry,
    repository: ref.repository,
    subject: byDigest ? `manifest ${tagOrDigest}` : `manifest "${tagOrDigest}"`,
    reference: tagOrDigest,
  };
  const accepted = [...DEFAULT_MANIFEST_TYPES, ...(opts.accept ?? []).filter((t) => !DEFAULT_MANIFEST_TYPES.includes(t))];
  const res = await transport.get({
    ctx,
    path: `/v2/${ref.repository}/manifests/${tagOrDigest}`,
    accept: accepted,
    maxBytes: opts.maxBytes,
    passStatuses: opts.allowMissing ? [404] : [],
    notFound: 'IMAGE_NOT_FOUND',
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  if (res.status === 404) return null;

  const details = contextDetails(ctx, res.url);
  const digest = byDigest ? checkAskedDigest(tagOrDigest, res, ctx) : checkAnnouncedDigest(res, ctx);
  const what = `${describeRequest(ctx)} (${digest})`;
  const json = parseJsonObject(res.body, what, details);
  const mediaType = resolveMediaType(json, res, accepted, what, details);
  return { digest, mediaType, kind: manifestKind(mediaType), bytes: res.body, json, content: parseContent(json, mediaType, what, details) };
}

/**
 * The digest a tag points to, from a HEAD request's Docker-Content-Digest: no body, and
 * registries such as Docker Hub do not count a HEAD against their pull rate limits (they count
 * manifest GETs). Only a sha256 digest is taken (what cosign's signature tags are named after);
 * undefined when the registry announces none or another kind (the caller then GETs the
 * manifest and computes it). The digest is the registry's claim, not bytes checked here: a
 * caller verifies and pins exactly that digest, and every byte fetched under it is checked.
 */
export async function headManifestDigest(
  transport: RegistryTransport,
  ref: RepositoryRef,
  tag: string,
  opts: Omit<FetchManifestOptions, 'allowMissing'>,
): Promise<string | undefined> {
  if (classifyReference(tag) !== 'tag')
    throw new ImgverifyError('INVALID_REFERENCE', `expected a tag, got ${JSON.stringify(tag)}`, { details: { reference: tag } });
  const ctx: RequestContext = { registry: ref.registry, repository: ref.repository, subject: `manifest "${tag}"`, reference: tag };
  const res = await transport.get({
    ctx,
    method: 'HEAD',
    path: `/v2/${ref.repository}/manifests/${tag}`,
    accept: [...DEFAULT_MANIFEST_TYPES, ...(opts.accept ?? []).filter((t) => !DEFAULT_MANIFEST_TYPES.includes(t))],
    maxBytes: opts.maxBytes,
    notFound: 'IMAGE_NOT_FOUND',
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  const announced = res.header('docker-content-digest')?.trim();
  return announced !== undefined && /^sha256:[a-f0-9]{64}$/.test(announced) ? announced : undefined;
}

/** `tag` or `digest`; throws INVALID_REFERENCE for anything else (it goes into a URL path). */
function classifyReference(tagOrDigest: string): 'tag' | 'digest' {
  if (typeof tagOrDigest === 'string' && tagOrDigest.includes(':')) {
    parseDigest(tagOrDigest);
    return 'digest';
  }
  if (typeof tagOrDigest !== 'string' || !TAG_RE.test(tagOrDigest)) {
    throw new ImgverifyError('INVALID_REFERENCE', `invalid tag or digest "${String(tagOrDigest)}"`, {
      details: { reference: tagOrDigest },
    });
  }
  return 'tag';
}

function checkAskedDigest(asked: string, res: RegistryResponse, ctx: RequestContext): string {
  verifyDigest(asked, res.body, `${describeRequest(ctx)} from ${displayUrl(res.url)}`, contextDetails(ctx, res.url));
  return asked;
}

/**
 * By tag, the digest is the sha256 of the bytes received, as cosign and go-containerregistry
 * use it: what signatures bind and what `sha256-<hex>.sig` tags are named after. The
 * registry's Docker-Content-Digest must agree with the bytes; a sha512 one is checked with
 * sha512 (a registry announcing a digest the bytes do not have is lying) but never becomes
 * the image digest (a registry must not choose a digest the signature tags cannot follow).
 */
function checkAnnouncedDigest(res: RegistryResponse, ctx: RequestContext): string {
  const computed = computeDigest('sha256', res.body);
  const announced = res.header('docker-content-digest')?.trim();
  if (announced === undefined || announced === '') return computed;
  if (!isDigestString(announced)) {
    throw new ImgverifyError('REGISTRY_ERROR', `${describeRequest(ctx)}: malformed Docker-Content-Digest header`, {
      details: contextDetails(ctx, res.url),
    });
  }
  // An algorithm we cannot compute proves nothing either way.
  if (!isSupportedAlgorithm(announced)) return computed;
  verifyDigest(announced, res.body, `${describeRequest(ctx)} from ${displayUrl(res.url)} (checked against its Docker-Content-Digest header)`, {
    ...contextDetails(ctx, res.url),
    announced,
  });
  return computed;
}

/**
 * The content's own mediaType wins; else an accepted Content-Type; else the shape decides
 * between OCI manifest and index (both make mediaType optional).
 */
function resolveMediaType(json: JsonObject, res: RegistryResponse, accepted: readonly string[], what: string, details: Record<string, unknown>): string {
  const field = json.mediaType;
  if (field !== undefined && !isMediaType(field)) {
    throw new ImgverifyError('MALFORMED_CONTENT', `${what}: field "mediaType" is not a media type`, { details });
  }
  const header = baseMediaType(res.header('content-type'));
  const mediaType =
    field ??
    (header !== undefined && accepted.includes(header)
      ? header
      : Array.isArray(json.manifests)
        ? OCI_INDEX
        : json.config !== undefined
          ? OCI_MANIFEST
          : header);
  if (mediaType === undefined || !accepted.includes(mediaType)) {
    throw new ImgverifyError(
      'MALFORMED_CONTENT',
      `${what}: media type ${mediaType === undefined ? '(none)' : `"${mediaType}"`} is not one that was asked for (${accepted.join(', ')})`,
      { details: { ...details, mediaType } },
    );
  }
  return mediaType;
}

function parseContent(json: JsonObject, mediaType: string, what: string, details: Record<string, unknown>): ManifestContent {
  switch (manifestKind(mediaType)) {
    case 'image':
      return parseImageManifest(json, what, details);
    case 'index':
      return parseImageIndex(json, what, details);
    default:
      return { kind: 'other' };
  }
}
