/**
 * An in-memory RegistryReader for unit tests of the cosign layer: manifests by tag and by
 * digest, blobs, referrer listings. Like the real client it checks what it hands out
 * (a blob against its digest and the size limit), so content stored under the wrong digest
 * is how a test plays a registry that serves tampered bytes. A failure can be planted for
 * any request, and every request is recorded.
 */
import { createHash } from 'node:crypto';
import { ImgverifyError } from '../../src/errors';
import type { OciDescriptor } from '../../src/cosign/oci';
import type { FetchedManifest, ReferrersListing, RegistryReader, RepositoryRef } from '../../src/cosign/registry-reader';
import { repositoryName } from '../../src/reference';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A descriptor as a test writes it into a manifest or a listing. */
export interface PushedDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
}

export type Request = `${'manifest' | 'blob' | 'referrers'} ${string}`;

export class MemoryRegistry implements RegistryReader {
  /** Every request, as "manifest repo:tag", "blob repo@digest", "referrers repo@digest". */
  readonly requests: Request[] = [];
  private readonly manifests = new Map<string, Buffer>();
  private readonly blobs = new Map<string, Buffer>();
  private readonly referrers = new Map<string, ReferrersListing>();
  private readonly failures = new Map<string, ImgverifyError>();

  /** Stores a blob under its digest (or under `digest`, to serve bytes that do not match it); returns its descriptor. */
  putBlob(repo: RepositoryRef, bytes: Buffer, mediaType = 'application/octet-stream', digest = digestOf(bytes)): PushedDescriptor {
    this.blobs.set(`${repositoryName(repo)}@${digest}`, bytes);
    return { mediaType, digest, size: bytes.length };
  }

  /** Stores a manifest (any JSON value) under its digest and, if given, a tag; returns its descriptor. */
  putManifest(repo: RepositoryRef, manifest: unknown, tag?: string): PushedDescriptor & { bytes: Buffer } {
    const bytes = Buffer.from(JSON.stringify(manifest), 'utf8');
    const digest = digestOf(bytes);
    this.manifests.set(`${repositoryName(repo)}@${digest}`, bytes);
    if (tag !== undefined) this.manifests.set(`${repositoryName(repo)}:${tag}`, bytes);
    const mediaType =
      typeof manifest === 'object' && manifest !== null && typeof (manifest as { mediaType?: unknown }).mediaType === 'string'
        ? (manifest as { mediaType: string }).mediaType
        : OCI_MANIFEST;
    return { mediaType, digest, size: bytes.length, bytes };
  }

  /** What the referrers listing of `digest` answers. */
  setReferrers(repo: RepositoryRef, digest: string, descriptors: readonly PushedDescriptor[], source: ReferrersListing['source'] = 'referrers-api'): void {
    const listed: OciDescriptor[] = descriptors.map((d) => ({ ...d, annotations: {} }));
    this.referrers.set(`${repositoryName(repo)}@${digest}`, { descriptors: listed, source });
  }

  /** Makes a request fail, e.g. `fail('blob ghcr.io/a/b@sha256:…', new ImgverifyError('REGISTRY_UNREACHABLE', …))`. */
  fail(request: Request, error: ImgverifyError): void {
    this.failures.set(request, error);
  }

  getManifest(repo: RepositoryRef, tagOrDigest: string): Promise<FetchedManifest> {
    return this.findManifest(repo, tagOrDigest).then((found) => {
      if (found === null) throw new ImgverifyError('IMAGE_NOT_FOUND', `${repositoryName(repo)} has no manifest ${tagOrDigest}`);
      return found;
    });
  }

  findManifest(repo: RepositoryRef, tagOrDigest: string): Promise<FetchedManifest | null> {
    const key = `${repositoryName(repo)}${tagOrDigest.includes(':') ? '@' : ':'}${tagOrDigest}`;
    return this.answer(`manifest ${key}`, () => {
      const bytes = this.manifests.get(key);
      if (bytes === undefined) return null;
      let json: unknown;
      try {
        json = JSON.parse(bytes.toString('utf8'));
      } catch {
        json = undefined;
      }
      const mediaType =
        typeof json === 'object' && json !== null && typeof (json as { mediaType?: unknown }).mediaType === 'string'
          ? (json as { mediaType: string }).mediaType
          : OCI_MANIFEST;
      return { digest: digestOf(bytes), mediaType, bytes, json };
    });
  }

  getBlob(repo: RepositoryRef, digest: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const key = `${repositoryName(repo)}@${digest}`;
    return this.answer(`blob ${key}`, () => {
      const bytes = this.blobs.get(key);
      if (bytes === undefined) throw new ImgverifyError('IMAGE_NOT_FOUND', `blob ${key} does not exist`);
      if (options.maxBytes !== undefined && bytes.length > options.maxBytes) {
        throw new ImgverifyError('SIZE_LIMIT_EXCEEDED', `blob ${key} is larger than ${options.maxBytes} bytes`);
      }
      if (digestOf(bytes) !== digest) throw new ImgverifyError('DIGEST_MISMATCH', `blob ${key}: the bytes received hash to ${digestOf(bytes)}`);
      return bytes;
    });
  }

  listReferrers(repo: RepositoryRef, digest: string): Promise<ReferrersListing> {
    const key = `${repositoryName(repo)}@${digest}`;
    return this.answer(`referrers ${key}`, () => this.referrers.get(key) ?? { descriptors: [], source: 'referrers-api' });
  }

  private answer<T>(request: Request, produce: () => T): Promise<T> {
    this.requests.push(request);
    const failure = this.failures.get(request);
    if (failure) return Promise.reject(failure);
    try {
      return Promise.resolve(produce());
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
