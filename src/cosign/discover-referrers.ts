/**
 * cosign v3 signatures and attestations: Sigstore bundles (v0.3) pushed as OCI 1.1 referrers
 * of the image digest. Listed by the referrers API or the referrers tag schema (the registry
 * client picks); each manifest and blob is fetched by digest and checked.
 *
 * Real listings do not always say "bundle" (issue 9.1). A referrer is a Sigstore bundle when
 * its manifest (fetched, digest-checked) has the bundle `artifactType`, or has no
 * `artifactType`, the empty config and exactly one bundle layer. The shapes seen:
 *
 * | shape | descriptor artifactType | manifest | written by |
 * | --- | --- | --- | --- |
 * | `artifact` | bundle type | bundle artifactType | cosign 3 (referrers API; go-containerregistry >= v0.22.1 fallback) |
 * | `untyped-descriptor` | empty type or absent | bundle artifactType | cosign 3.x fallback tag via go-containerregistry < v0.22.1, e.g. on GHCR (sigstore/cosign#4641, kyverno/kyverno#16754) |
 * | `bundle-layer` | empty type (the config's, per the spec) or absent | no artifactType, empty config, one bundle layer | cosign 2.5/2.6 `--new-bundle-format` (sigstore/cosign#4422) |
 * | `config-typed` | bundle type or absent | no artifactType, config of the bundle type | early cosign v3 pre-releases |
 *
 * Descriptors naming another type (SBOMs, Notation signatures, other tools' attestations)
 * are skipped without fetching; so are descriptors whose `dev.sigstore.bundle.predicateType`
 * annotation (go-containerregistry >= v0.22.1, cosign 3) says they are not what the caller
 * looks for. An untyped referrer that turns out not to be a bundle is not a signature and is
 * left out silently. What is fetched is bounded by the signature limit.
 */
import { ImgverifyError } from '../errors';
import { repositoryName } from '../reference';
import { COSIGN_SIGN_PREDICATE } from './in-toto';
import { parseImageManifest, type OciDescriptor, type OciManifest } from './oci';
import type { ReadOptions, RegistryReader, RepositoryRef } from './registry-reader';
import { DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_SIGNATURES } from './discover-legacy';

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** Earlier cosign v3 pre-releases wrote the legacy v0.3 media type; accept both. */
const BUNDLE_MEDIA_TYPES = new Set([BUNDLE_V03_MEDIA_TYPE, 'application/vnd.dev.sigstore.bundle+json;version=0.3']);
/** The OCI empty descriptor's media type: what registries list for manifests without artifactType. */
const OCI_EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
/** Annotation go-containerregistry >= v0.22.1 and cosign 3 put on bundle descriptors. */
const BUNDLE_PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';

/** How a bundle referrer was listed and stored (see the table above). */
export type ReferrerShape = 'artifact' | 'untyped-descriptor' | 'bundle-layer' | 'config-typed';
/** Where the listing came from: the OCI 1.1 referrers API, or the `sha256-<hex>` referrers tag. */
export type ReferrerListing = 'referrers-api' | 'tag-schema';

export interface ReferrerBundle {
  /** `registry/repo@sha256:<referrer manifest digest>` */
  readonly location: string;
  readonly descriptor: OciDescriptor;
  readonly listing: ReferrerListing;
  /** The shape, once the manifest was read (absent when it could not be). */
  readonly shape?: ReferrerShape;
  /** The bundle JSON bytes (digest-checked); absent when `error` is set. */
  readonly bundle?: Buffer;
  /** Why this referrer cannot be a signature of the image (malformed, wrong subject, missing). */
  readonly error?: ImgverifyError;
}

export interface ReferrerOptions {
  readonly maxSignatures?: number;
  readonly maxPayloadBytes?: number;
  /**
   * What the caller looks for: signatures (cosign's sign predicate) or attestations. A
   * descriptor whose predicateType annotation says it is the other kind is not fetched.
   */
  readonly kind?: 'signature' | 'attestation';
  readonly signal?: AbortSignal;
}

function malformed(location: string, why: string): ImgverifyError {
  return new ImgverifyError('MALFORMED_CONTENT', `referrer ${location}: ${why}`);
}

/** `typed`: the descriptor says bundle; `untyped`: it says nothing useful; `other`: another artifact. */
function classifyDescriptor(d: OciDescriptor, kind: ReferrerOptions['kind']): 'typed' | 'untyped' | 'other' {
  const predicate = d.annotations[BUNDLE_PREDICATE_ANNOTATION];
  if (kind !== undefined && predicate !== undefined && (predicate === COSIGN_SIGN_PREDICATE) !== (kind === 'signature')) return 'other';
  if (d.artifactType !== undefined && BUNDLE_MEDIA_TYPES.has(d.artifactType)) return 'typed';
  const annotated = predicate !== undefined || d.annotations[BUNDLE_CONTENT_ANNOTATION] !== undefined;
  // Bundles are image manifests; an index (or anything else) under an empty type is not one.
  if ((d.artifactType === undefined || d.artifactType === OCI_EMPTY_MEDIA_TYPE) && d.mediaType === OCI_MANIFEST_MEDIA_TYPE) {
    return annotated ? 'typed' : 'untyped';
  }
  return 'other';
}

/** The bundle layer and shape of a manifest, or undefined when it is not a Sigstore bundle. */
function bundleShape(manifest: OciManifest, descriptorTyped: boolean): { layer: OciDescriptor; shape: ReferrerShape } | { why: string } {
  const bundleLayers = manifest.layers.filter((l) => BUNDLE_MEDIA_TYPES.has(l.mediaType));
  const one = (shape: ReferrerShape) =>
    bundleLayers.length === 1 ? { layer: bundleLayers[0]!, shape } : { why: `has ${bundleLayers.length} bundle layers, expected 1` };
  if (manifest.artifactType !== undefined) {
    if (!BUNDLE_MEDIA_TYPES.has(manifest.artifactType)) return { why: `artifact type ${manifest.artifactType} is not a Sigstore bundle` };
    return one(descriptorTyped ? 'artifact' : 'untyped-descriptor');
  }
  if (BUNDLE_MEDIA_TYPES.has(manifest.config.mediaType)) return one('config-typed');
  if (manifest.config.mediaType === OCI_EMPTY_MEDIA_TYPE && manifest.layers.length === 1) return one('bundle-layer');
  return { why: `artifact type ${manifest.config.mediaType} is not a Sigstore bundle` };
}

async function fetchBundle(
  registry: RegistryReader,
  repo: RepositoryRef,
  digest: string,
  descriptor: OciDescriptor,
  typed: boolean,
  listing: ReferrerListing,
  maxBytes: number,
  signal: ReadOptions,
): Promise<ReferrerBundle | undefined> {
  const location = `${repositoryName(repo)}@${descriptor.digest}`;
  const base = { location, descriptor, listing };
  const manifest = await registry.findManifest(repo, descriptor.digest, signal);
  // A listing that names a manifest the registry does not serve: present but unreachable
  // (a half-replicated mirror), an operational failure of this referrer, never "unsigned".
  if (manifest === null) {
    return {
      ...base,
      error: new ImgverifyError('REGISTRY_ERROR', `referrer ${location}: listed as a referrer, but the registry does not serve its manifest (404)`, {
        details: { registry: repo.registry, repository: repo.repository, reference: descriptor.digest, status: 404 },
      }),
    };
  }
  let layer: OciDescriptor;
  let shape: ReferrerShape;
  try {
    const parsed = parseImageManifest(manifest.json, location);
    const found = bundleShape(parsed, typed);
    if ('why' in found) {
      // An untyped referrer that is something else (an SBOM pushed without artifactType) is
      // simply not a signature; one that claimed to be a bundle is malformed.
      if (!typed) return undefined;
      throw malformed(location, found.why);
    }
    ({ layer, shape } = found);
    if (parsed.subject?.digest !== digest) {
      throw malformed(location, `its subject is ${parsed.subject?.digest ?? 'missing'}, not the image ${digest}`);
    }
    if (layer.size > maxBytes) throw new ImgverifyError('SIZE_LIMIT_EXCEEDED', `referrer ${location}: bundle is ${layer.size} bytes, more than ${maxBytes}`);
  } catch (err) {
    if (err instanceof ImgverifyError) return { ...base, error: err };
    throw err;
  }
  try {
    return { ...base, shape, bundle: await registry.getBlob(repo, layer.digest, { maxBytes, ...signal }) };
  } catch (err) {
    // Content that is not what its digest promises, and a blob the registry cannot serve,
    // fail this referrer only: another signature may still verify.
    if (err instanceof ImgverifyError && (err.category === 'verification' || err.category === 'operational')) return { ...base, shape, error: err };
    throw err;
  }
}

/** The Sigstore bundles that refer to `digest`. A failing listing is an error, never "none". */
export async function fetchReferrerBundles(
  registry: RegistryReader,
  repo: RepositoryRef,
  digest: string,
  options: ReferrerOptions = {},
): Promise<readonly ReferrerBundle[]> {
  const signal: ReadOptions = options.signal ? { signal: options.signal } : {};
  // Unfiltered: a registry applying an artifactType filter would drop the untyped shapes.
  const listing = await registry.listReferrers(repo, digest, signal);
  // A listing may name one manifest many times (a hostile or buggy index): each is fetched,
  // verified and reported once.
  const unique = [...new Map(listing.descriptors.map((d) => [d.digest, d])).values()];
  const candidates = unique.flatMap((d) => {
    const kind = classifyDescriptor(d, options.kind);
    return kind === 'other' ? [] : [{ descriptor: d, typed: kind === 'typed' }];
  });
  const max = options.maxSignatures ?? DEFAULT_MAX_SIGNATURES;
  if (candidates.length > max) {
    throw new ImgverifyError(
      'SIZE_LIMIT_EXCEEDED',
      `${repositoryName(repo)}@${digest} has ${candidates.length} referrers that may be Sigstore bundles, more than the limit of ${max}`,
    );
  }
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const fetched = await Promise.all(candidates.map((c) => fetchBundle(registry, repo, digest, c.descriptor, c.typed, listing.source, maxBytes, signal)));
  return fetched.filter((r): r is ReferrerBundle => r !== undefined);
}
