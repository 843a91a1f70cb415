/**
 * What the cosign layer needs from a registry. `RegistryClient` implements it; keeping the
 * cosign code on this narrow interface keeps it free of transport concerns.
 */
import type { Descriptor, RepositoryRef } from '../registry/types';

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

export interface RegistryReader {
  getManifest(repo: RepositoryRef, tagOrDigest: string): Promise<FetchedManifest>;
  findManifest(repo: RepositoryRef, tagOrDigest: string): Promise<FetchedManifest | null>;
  getBlob(repo: RepositoryRef, digest: string, options?: { maxBytes?: number }): Promise<Buffer>;
  listReferrers(repo: RepositoryRef, digest: string, options?: { artifactType?: string }): Promise<ReferrersListing>;
}
