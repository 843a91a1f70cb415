/**
 * Sigstore bundles (v0.1–v0.3) as input to the one algorithm (../core.ts). Decoding only:
 * ../../bundle/parse.ts checks shape, encodings and the per-version rules; every check is the
 * core's. A bundle's verification material is exactly one of certificate and key, so a
 * certificate bundle under a key policy is refused, not verified with the key.
 */
import { parseBundle } from '../../bundle/parse';
import type { DigestAlgorithm } from '../../bundle/prehashed';
import { ImgverifyError } from '../../errors';
import type { Artifact, SignatureInput } from '../core';

/**
 * The artifact a bundle is verified for: its bytes, its SHA-256 digest (hex), or its digest as
 * `sha256:<hex>`, `sha384:<hex>` or `sha512:<hex>` (npm provenance statements name SHA-512).
 */
export type BundleArtifact = { readonly bytes: Buffer } | { readonly sha256: string } | { readonly digest: string };

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
const HEX_LENGTHS: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha384: 96, sha512: 128 };
const DIGEST = /^(sha256|sha384|sha512):([0-9a-fA-F]+)$/;

function invalidArtifact(why: string): ImgverifyError {
  return new ImgverifyError('INVALID_OPTIONS', why);
}

/** The artifact as the core takes it; validated before anything else is looked at. */
export function toArtifact(artifact: BundleArtifact): Artifact {
  if (typeof artifact !== 'object' || artifact === null) throw invalidArtifact('a bundle is verified for an artifact: give its bytes or its SHA-256 digest');
  if ('bytes' in artifact) {
    if (!Buffer.isBuffer(artifact.bytes)) throw invalidArtifact('artifact bytes must be a Buffer');
    return { bytes: artifact.bytes };
  }
  if ('sha256' in artifact) {
    if (typeof artifact.sha256 !== 'string' || !SHA256_HEX.test(artifact.sha256)) {
      throw invalidArtifact(`artifact digest must be 64 hex characters (SHA-256), got ${JSON.stringify(artifact.sha256)}`);
    }
    return { digest: { algorithm: 'sha256', hex: artifact.sha256.toLowerCase() } };
  }
  const m = 'digest' in artifact && typeof artifact.digest === 'string' ? DIGEST.exec(artifact.digest) : null;
  const algorithm = m?.[1] as DigestAlgorithm | undefined;
  if (!m || !algorithm || m[2]!.length !== HEX_LENGTHS[algorithm]) {
    throw invalidArtifact(
      `artifact digest must be sha256:, sha384: or sha512: and its hex digest, got ${JSON.stringify((artifact as { digest?: unknown }).digest)}`,
    );
  }
  return { digest: { algorithm, hex: m[2]!.toLowerCase() } };
}

/** `verify-bundle`: a bundle (JSON value, text or bytes) for a file or a digest. */
export function artifactBundleInput(bundle: unknown, artifact: BundleArtifact): SignatureInput {
  const subject = toArtifact(artifact);
  return { bundle: parseBundle(bundle), artifact: subject, subject: { kind: 'artifact' }, certificateUnderKeyPolicy: 'reject' };
}

/** A cosign v3 bundle attached to an image as an OCI referrer: a statement about the image `digest`. */
export function referrerBundleInput(bundle: Buffer, digest: string): SignatureInput {
  const [algorithm, hex] = digest.split(':') as [string, string];
  if (algorithm !== 'sha256') throw new ImgverifyError('PAYLOAD_DIGEST_MISMATCH', `bundles name sha256 subjects; the image digest is ${digest}`);
  return {
    bundle: parseBundle(bundle),
    // A message-signature bundle would be over the image digest; the core refuses it as not
    // being a statement about the image.
    artifact: { digest: { algorithm: 'sha256', hex } },
    subject: { kind: 'image', digest },
    certificateUnderKeyPolicy: 'reject',
  };
}
