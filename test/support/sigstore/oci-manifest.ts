// The `.sig` OCI image manifest cosign pushes (via go-containerregistry's mutate.Append on an
// empty image): an image config listing each layer's digest as a diff_id with one empty
// history entry per layer, and one layer descriptor per signature with its annotations.
// Everything is Go-marshalled: compact JSON, struct field order, sorted annotation keys.
import crypto from 'node:crypto';
import type { CosignLayer } from './simple-signing';
import { goJson, sortedKeys } from './json';

const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';

interface OciBlob {
  digest: string;
  bytes: NonSharedBuffer;
}

export interface SignatureManifest {
  manifest: NonSharedBuffer;
  mediaType: typeof OCI_MANIFEST_MEDIA_TYPE;
  /** Digest of the manifest bytes. */
  digest: string;
  /** Config first, then the layer blobs (deduplicated by digest). */
  blobs: OciBlob[];
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

/** go-containerregistry's zero time, which cosign's configs carry. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The image config cosign writes for a `.sig` image (v1.ConfigFile field order). */
function signatureConfig(layerDigests: string[]): NonSharedBuffer {
  return Buffer.from(
    goJson({
      architecture: '',
      created: ZERO_TIME,
      history: layerDigests.map(() => ({ created: ZERO_TIME })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layerDigests },
      config: {},
    }),
    'utf8',
  );
}

/** Builds (without pushing) the `.sig` manifest and blobs for a set of signature layers. */
export function buildSignatureManifest(layers: CosignLayer[], configBytes?: NonSharedBuffer): SignatureManifest {
  const layerDigests = layers.map((layer) => sha256Digest(layer.payload));
  const config = configBytes ?? signatureConfig(layerDigests);
  const manifest = Buffer.from(
    goJson({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      config: { mediaType: OCI_CONFIG_MEDIA_TYPE, size: config.length, digest: sha256Digest(config) },
      layers: layers.map((layer, i) => ({
        mediaType: layer.mediaType,
        size: layer.payload.length,
        digest: layerDigests[i],
        ...(Object.keys(layer.annotations).length ? { annotations: sortedKeys(layer.annotations) } : {}),
      })),
    }),
    'utf8',
  );

  const blobs = new Map<string, NonSharedBuffer>([[sha256Digest(config), config]]);
  layers.forEach((layer, i) => blobs.set(layerDigests[i]!, layer.payload));
  return {
    manifest,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    digest: sha256Digest(manifest),
    blobs: [...blobs].map(([digest, bytes]) => ({ digest, bytes })),
  };
}

/** cosign's legacy signature tag for an image digest: "sha256:abc…" → "sha256-abc….sig". */
export function signatureTag(imageDigest: string): string {
  return `${imageDigest.replace(':', '-')}.sig`;
}
