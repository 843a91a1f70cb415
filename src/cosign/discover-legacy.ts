/**
 * Finds cosign's legacy artifacts of a digest: the manifest at tag `sha256-<hex>.sig`
 * (or `.att`; with cosign's attachment tag prefix, `<prefix>sha256-<hex>.sig`) and each layer's blob. A missing tag means "none"; any other failure to
 * fetch the tag is an operational error, never "none"; a layer blob that cannot be fetched
 * fails that signature with the reason.
 */
import { ImgverifyError } from '../errors';
import type { ImageReference } from '../reference';
import { repositoryName } from '../reference';
import type { RegistryReader } from './registry-reader';
import { digestTag, parseImageManifest, type OciDescriptor } from './oci';

/** cosign refuses more attachments than this (its `maxLayers` default); so do we. */
export const DEFAULT_MAX_SIGNATURES = 50;
/** Signature payloads and envelopes are small; bound what we download per layer. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

export interface LegacyLayer {
  readonly index: number;
  readonly descriptor: OciDescriptor;
  /** The blob, digest-checked; absent when `error` is set. */
  readonly payload?: Buffer;
  /**
   * Why this layer's blob is not usable: an integrity failure (digest mismatch, size), or an
   * operational one (the registry does not serve it: 404, 5xx, timeout), which fails this
   * signature only: another may still verify.
   */
  readonly error?: ImgverifyError;
}

export interface LegacyArtifacts {
  /** e.g. `registry/repo:sha256-<hex>.sig` */
  readonly location: string;
  readonly layers: readonly LegacyLayer[];
}

export interface DiscoverOptions {
  /** Put before the tag (cosign's `--attachment-tag-prefix`): `<prefix>sha256-<hex>.sig`. */
  readonly tagPrefix?: string;
  readonly maxSignatures?: number;
  readonly maxPayloadBytes?: number;
  /** The deadline of the verification this lookup belongs to. */
  readonly signal?: AbortSignal;
}

/** Returns null when the tag does not exist. */
export async function fetchLegacyArtifacts(
  registry: RegistryReader,
  repo: Pick<ImageReference, 'registry' | 'repository'>,
  digest: string,
  suffix: 'sig' | 'att',
  options: DiscoverOptions = {},
): Promise<LegacyArtifacts | null> {
  const tag = `${options.tagPrefix ?? ''}${digestTag(digest, suffix)}`;
  const location = `${repositoryName(repo)}:${tag}`;
  const signal = options.signal ? { signal: options.signal } : {};
  const manifest = await registry.findManifest(repo, tag, signal);
  if (manifest === null) return null;
  const parsed = parseImageManifest(manifest.json, location);
  const max = options.maxSignatures ?? DEFAULT_MAX_SIGNATURES;
  if (parsed.layers.length > max) {
    throw new ImgverifyError('SIZE_LIMIT_EXCEEDED', `${location} has ${parsed.layers.length} layers, more than the limit of ${max}`);
  }
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  // Layers naming the same blob (a manifest listing one signature twice) share one fetch.
  const blobs = new Map<string, Promise<Buffer>>();
  const blob = (d: string): Promise<Buffer> => {
    let pending = blobs.get(d);
    if (pending === undefined) {
      pending = registry.getBlob(repo, d, { maxBytes, ...signal });
      blobs.set(d, pending);
    }
    return pending;
  };
  const layers = await Promise.all(
    parsed.layers.map(async (descriptor, index): Promise<LegacyLayer> => {
      if (descriptor.size > maxBytes) {
        return {
          index,
          descriptor,
          error: new ImgverifyError('SIZE_LIMIT_EXCEEDED', `${location} layer ${index} is ${descriptor.size} bytes, more than ${maxBytes}`),
        };
      }
      try {
        const payload = await blob(descriptor.digest);
        if (payload.length !== descriptor.size) {
          throw new ImgverifyError('MALFORMED_CONTENT', `${location} layer ${index}: blob is ${payload.length} bytes, descriptor says ${descriptor.size}`);
        }
        return { index, descriptor, payload };
      } catch (err) {
        // Content that is not what its digest promises, and a blob that is listed but not
        // served (a half-replicated mirror), fail this signature only; the verdict then says
        // which (never "unsigned"). A caller's abort and usage errors propagate.
        if (err instanceof ImgverifyError && (err.category === 'verification' || err.category === 'operational')) {
          return { index, descriptor, error: err };
        }
        throw err;
      }
    }),
  );
  return { location, layers };
}
