/**
 * What the cosign layer needs from a registry. `RegistryClient` implements it; keeping the
 * cosign code on this narrow interface keeps it free of transport concerns.
 */
import type { Descriptor, RepositoryRef } from '../registry/types';
import { abortable } from '../util/abort';

export type { RepositoryRef };

export interface FetchedManifest {
  /** Digest computed from the bytes received. */
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly json: unknown;
}

export interface ReferrersListing {
  readonly descriptors: readonly Descriptor[];
  readonly source: 'referrers-api' | 'tag-schema';
}

/** Every read takes the deadline of the operation it belongs to (one image's verification). */
export interface ReadOptions {
  readonly signal?: AbortSignal | undefined;
}

export interface RegistryReader {
  getManifest(repo: RepositoryRef, tagOrDigest: string, options?: ReadOptions): Promise<FetchedManifest>;
  findManifest(repo: RepositoryRef, tagOrDigest: string, options?: ReadOptions): Promise<FetchedManifest | null>;
  getBlob(repo: RepositoryRef, digest: string, options?: ReadOptions & { maxBytes?: number }): Promise<Buffer>;
  listReferrers(repo: RepositoryRef, digest: string, options?: ReadOptions & { artifactType?: string }): Promise<ReferrersListing>;
}

/**
 * `reader` with every read raced against its signal: an injected reader that ignores the
 * signal cannot hold a verification past its deadline (the read goes on, unobserved).
 */
export function signalBound(reader: RegistryReader): RegistryReader {
  return {
    getManifest: (repo, tagOrDigest, options) => abortable(reader.getManifest(repo, tagOrDigest, options), options?.signal),
    findManifest: (repo, tagOrDigest, options) => abortable(reader.findManifest(repo, tagOrDigest, options), options?.signal),
    getBlob: (repo, digest, options) => abortable(reader.getBlob(repo, digest, options), options?.signal),
    listReferrers: (repo, digest, options) => abortable(reader.listReferrers(repo, digest, options), options?.signal),
  };
}
