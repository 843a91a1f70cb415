/**
 * OCI registry client: reads manifests, blobs and referrers from a container registry, and
 * treats everything the registry sends as hostile.
 *
 * ```ts
 * const client = new RegistryClient({ credentials: { 'ghcr.io': { username, password } } });
 * const ref = parseReference('ghcr.io/org/app:1.0');
 * const manifest = await client.getManifest(ref, ref.tag!);      // digest computed from the bytes
 * const sig = await client.findManifest(ref, `sha256-${hex}.sig`); // null when absent
 * const blob = await client.getBlob(ref, layer.digest, { maxBytes: 1 << 20 });
 * const { descriptors, source } = await client.listReferrers(ref, manifest.digest, { artifactType });
 * await client.close();
 * ```
 *
 * - `getManifest(ref, tagOrDigest, {accept?, maxBytes?, signal?}) → Manifest`: OCI/Docker
 *   manifests and indexes. By digest the bytes must hash to it; by tag the digest is the
 *   sha256 of the bytes, which must also hash to the Docker-Content-Digest header when present
 *   (DIGEST_MISMATCH otherwise). IMAGE_NOT_FOUND on 404.
 * - `findManifest(...) → Manifest | null`: the same, null on 404.
 * - `getBlob(ref, digest, {maxBytes?, signal?}) → Buffer`: hashed against the digest.
 * - `listReferrers(ref, digest, {artifactType?, signal?}) → {descriptors, source}`: the referrers
 *   API, or the `sha256-<hex>` tag when the registry answers 404/405; a failure is an error,
 *   never an empty list.
 * - `close()`: releases pooled connections.
 *
 * Errors are ImgverifyError with codes REGISTRY_UNREACHABLE, REGISTRY_TIMEOUT,
 * REGISTRY_AUTH_FAILED, REGISTRY_ERROR, IMAGE_NOT_FOUND, DIGEST_MISMATCH, SIZE_LIMIT_EXCEEDED,
 * MALFORMED_CONTENT, INSECURE_REGISTRY_REFUSED, INVALID_OPTIONS, INVALID_REFERENCE.
 * Security rules, limits and defaults: docs/registry.md.
 */
export { RegistryClient } from './client';
export { referrersTag } from './referrers';
export { type CredentialFile, type Env } from './auth/credentials';
export type { CredentialFileFormat } from './auth/docker-config';
export { HttpStack, type ClientCertificate, type HttpStackOptions } from './transport/http-stack';
export { type ProxySettings } from './transport/proxy';
export { type ManifestKind } from './media-types';
export type {
  BlobOptions,
  CallCredentials,
  CallOptions,
  Descriptor,
  ImageIndexContent,
  ImageManifestContent,
  Manifest,
  ManifestContent,
  ManifestOptions,
  OtherManifestContent,
  Platform,
  Referrers,
  ReferrersOptions,
  RegistryClientOptions,
  RepositoryRef,
} from './types';
export type { CredentialCandidate, CredentialLookupResult, RegistryCredentials } from './auth/credential-types';
