/**
 * OCI image-manifest and index shapes, validated from untrusted JSON. Only the fields the
 * signature formats use are read; anything malformed is MALFORMED_CONTENT naming where.
 */
import { ImgverifyError } from '../errors';
import { parseDigest } from '../reference';
import { isRecord } from '../util/encoding';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_EMPTY_CONFIG = 'application/vnd.oci.empty.v1+json';

export interface OciDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations: Readonly<Record<string, string>>;
  readonly artifactType?: string;
}

export interface OciManifest {
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: OciDescriptor;
  readonly layers: readonly OciDescriptor[];
  readonly subject?: OciDescriptor;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface OciIndex {
  readonly mediaType?: string;
  readonly manifests: readonly OciDescriptor[];
}

function malformed(what: string, why: string): ImgverifyError {
  return new ImgverifyError('MALFORMED_CONTENT', `${what}: ${why}`);
}

function annotationsOf(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw malformed(where, 'annotations is not an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw malformed(where, `annotation ${JSON.stringify(k)} is not a string`);
    out[k] = v;
  }
  return out;
}

export function parseDescriptor(value: unknown, where: string): OciDescriptor {
  if (!isRecord(value)) throw malformed(where, 'descriptor is not an object');
  if (typeof value.mediaType !== 'string' || value.mediaType.length === 0) throw malformed(where, 'descriptor has no mediaType');
  if (typeof value.digest !== 'string') throw malformed(where, 'descriptor has no digest');
  let digest: string;
  try {
    digest = parseDigest(value.digest);
  } catch (err) {
    throw malformed(where, (err as Error).message);
  }
  if (typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 0) {
    throw malformed(where, 'descriptor size is not a non-negative integer');
  }
  const artifactType = typeof value.artifactType === 'string' ? value.artifactType : undefined;
  return {
    mediaType: value.mediaType,
    digest,
    size: value.size,
    annotations: annotationsOf(value.annotations, where),
    ...(artifactType !== undefined ? { artifactType } : {}),
  };
}

export function parseImageManifest(json: unknown, where: string): OciManifest {
  if (!isRecord(json)) throw malformed(where, 'manifest is not a JSON object');
  if (json.schemaVersion !== 2) throw malformed(where, `schemaVersion is ${JSON.stringify(json.schemaVersion)}, expected 2`);
  if (json.mediaType !== undefined && json.mediaType !== OCI_MANIFEST && json.mediaType !== DOCKER_MANIFEST) {
    throw malformed(where, `media type ${JSON.stringify(json.mediaType)} is not an image manifest`);
  }
  if (!Array.isArray(json.layers)) throw malformed(where, 'manifest has no layers array');
  return {
    ...(typeof json.mediaType === 'string' ? { mediaType: json.mediaType } : {}),
    ...(typeof json.artifactType === 'string' ? { artifactType: json.artifactType } : {}),
    config: parseDescriptor(json.config, `${where} config`),
    layers: json.layers.map((l, i) => parseDescriptor(l, `${where} layer ${i}`)),
    ...(json.subject !== undefined ? { subject: parseDescriptor(json.subject, `${where} subject`) } : {}),
    annotations: annotationsOf(json.annotations, where),
  };
}

export function parseIndex(json: unknown, where: string): OciIndex {
  if (!isRecord(json)) throw malformed(where, 'index is not a JSON object');
  if (json.schemaVersion !== 2) throw malformed(where, `schemaVersion is ${JSON.stringify(json.schemaVersion)}, expected 2`);
  if (!Array.isArray(json.manifests)) throw malformed(where, 'index has no manifests array');
  return {
    ...(typeof json.mediaType === 'string' ? { mediaType: json.mediaType } : {}),
    manifests: json.manifests.map((m, i) => parseDescriptor(m, `${where} manifest ${i}`)),
  };
}

/** cosign's tag for artifacts of a digest: `sha256:<hex>` → `sha256-<hex>.<suffix>`. */
export function digestTag(digest: string, suffix?: 'sig' | 'att' | 'sbom'): string {
  const tag = digest.replace(':', '-');
  return suffix ? `${tag}.${suffix}` : tag;
}
