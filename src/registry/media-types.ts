/** Manifest media types the client understands, and their kinds. */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** Sent in Accept for every manifest request; callers may add their own types. */
export const DEFAULT_MANIFEST_TYPES: readonly string[] = Object.freeze([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST]);

export type ManifestKind = 'image' | 'index' | 'other';

/** The kind of document a manifest media type names (`other` for caller-accepted types). */
export function manifestKind(mediaType: string): ManifestKind {
  switch (mediaType) {
    case OCI_MANIFEST:
    case DOCKER_MANIFEST:
      return 'image';
    case OCI_INDEX:
    case DOCKER_MANIFEST_LIST:
      return 'index';
    default:
      return 'other';
  }
}

// RFC 6838 restricted-name, as the OCI image spec requires for mediaType fields.
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isMediaType(value: unknown): value is string {
  return typeof value === 'string' && MEDIA_TYPE_RE.test(value);
}

/** The media type of a Content-Type header value: parameters dropped, lower case. */
export function baseMediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const base = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return base.length > 0 ? base : undefined;
}
