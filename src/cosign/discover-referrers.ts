/**
 * cosign v3 signatures and attestations: Sigstore bundles (v0.3) pushed as OCI 1.1 referrers
 * of the image digest — an artifact manifest (`artifactType` = bundle media type, empty
 * config, one bundle layer, `subject` = the image). Listed by the referrers API or the
 * referrers tag schema (the registry client picks); each manifest and blob is fetched by
 * digest and checked.
 */
import { ImgverifyError } from '../errors';
import { repositoryName } from '../reference';
import { parseImageManifest, type OciDescriptor } from './oci';
import type { ReadOptions, RegistryReader, RepositoryRef } from './registry-reader';
import { DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_SIGNATURES } from './discover-legacy';

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** Earlier cosign v3 pre-releases wrote the legacy v0.3 media type; accept both. */
const BUNDLE_MEDIA_TYPES = new Set([BUNDLE_V03_MEDIA_TYPE, 'application/vnd.dev.sigstore.bundle+json;version=0.3']);

export interface ReferrerBundle {
  /** `registry/repo@sha256:<referrer manifest digest>` */
  readonly location: string;
  readonly descriptor: OciDescriptor;
  /** The bundle JSON bytes (digest-checked); absent when `error` is set. */
  readonly bundle?: Buffer;
  /** Why this referrer cannot be a signature of the image (malformed, wrong subject, missing). */
  readonly error?: ImgverifyError;
}

function malformed(location: string, why: string): ImgverifyError {
  return new ImgverifyError('MALFORMED_CONTENT', `referrer ${location}: ${why}`);
}

async function fetchBundle(
  registry: RegistryReader,
  repo: RepositoryRef,
  digest: string,
  descriptor: OciDescriptor,
  maxBytes: number,
  signal: ReadOptions,
): Promise<ReferrerBundle> {
  const location = `${repositoryName(repo)}@${descriptor.digest}`;
  const manifest = await registry.findManifest(repo, descriptor.digest, signal);
  // A listing that names a manifest the registry does not have cannot vouch for anything.
  if (manifest === null) return { location, descriptor, error: malformed(location, 'listed as a referrer, but the manifest does not exist') };
  let layer: OciDescriptor;
  try {
    const parsed = parseImageManifest(manifest.json, location);
    if (parsed.subject?.digest !== digest) {
      throw malformed(location, `its subject is ${parsed.subject?.digest ?? 'missing'}, not the image ${digest}`);
    }
    const artifactType = parsed.artifactType ?? parsed.config.mediaType;
    if (!BUNDLE_MEDIA_TYPES.has(artifactType)) throw malformed(location, `artifact type ${artifactType} is not a Sigstore bundle`);
    const bundles = parsed.layers.filter((l) => BUNDLE_MEDIA_TYPES.has(l.mediaType));
    if (bundles.length !== 1) throw malformed(location, `has ${bundles.length} bundle layers, expected 1`);
    layer = bundles[0]!;
    if (layer.size > maxBytes) throw new ImgverifyError('SIZE_LIMIT_EXCEEDED', `referrer ${location}: bundle is ${layer.size} bytes, more than ${maxBytes}`);
  } catch (err) {
    if (err instanceof ImgverifyError) return { location, descriptor, error: err };
    throw err;
  }
  try {
    return { location, descriptor, bundle: await registry.getBlob(repo, layer.digest, { maxBytes, ...signal }) };
  } catch (err) {
    if (err instanceof ImgverifyError && err.category === 'verification') return { location, descriptor, error: err };
    throw err;
  }
}

/** The Sigstore bundles that refer to `digest`. A failing listing is an error, never "none". */
export async function fetchReferrerBundles(
  registry: RegistryReader,
  repo: RepositoryRef,
  digest: string,
  options: { maxSignatures?: number; maxPayloadBytes?: number; signal?: AbortSignal } = {},
): Promise<readonly ReferrerBundle[]> {
  const signal: ReadOptions = options.signal ? { signal: options.signal } : {};
  const listing = await registry.listReferrers(repo, digest, { artifactType: BUNDLE_V03_MEDIA_TYPE, ...signal });
  // A listing may name one manifest many times (a hostile or buggy index): each is fetched,
  // verified and reported once.
  const unique = [...new Map(listing.descriptors.map((d) => [d.digest, d])).values()];
  const max = options.maxSignatures ?? DEFAULT_MAX_SIGNATURES;
  if (unique.length > max) {
    throw new ImgverifyError('SIZE_LIMIT_EXCEEDED', `${repositoryName(repo)}@${digest} has ${unique.length} bundle referrers, more than the limit of ${max}`);
  }
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  return Promise.all(unique.map((d) => fetchBundle(registry, repo, digest, d, maxBytes, signal)));
}
