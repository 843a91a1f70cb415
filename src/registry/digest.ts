/**
 * Content digests: the only thing the client trusts about registry content is that its
 * bytes hash to the digest it was asked for.
 */
import { createHash } from 'node:crypto';
import { ImgverifyError } from '../errors';
import { SUPPORTED_DIGEST_ALGORITHMS } from '../reference';

/** The OCI digest grammar (image-spec descriptor.md), for digests found inside content. */
const OCI_DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** True for `algorithm:encoded` strings that follow the OCI grammar (any algorithm). */
export function isDigestString(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 256 || !OCI_DIGEST_RE.test(value)) return false;
  const [algorithm, encoded] = value.split(':') as [string, string];
  const length = SUPPORTED_DIGEST_ALGORITHMS[algorithm];
  // Known algorithms must be well-formed; unknown ones are carried along, never verified.
  return length === undefined || (encoded.length === length && /^[0-9a-f]+$/.test(encoded));
}

/** True when the digest's algorithm is one we can compute. */
export function isSupportedAlgorithm(digest: string): boolean {
  const algorithm = digest.slice(0, digest.indexOf(':'));
  return Object.prototype.hasOwnProperty.call(SUPPORTED_DIGEST_ALGORITHMS, algorithm);
}

/** `algorithm:hex` of the bytes, for `sha256` or `sha512`. */
export function computeDigest(algorithm: string, bytes: Uint8Array): string {
  if (!Object.prototype.hasOwnProperty.call(SUPPORTED_DIGEST_ALGORITHMS, algorithm)) {
    throw new ImgverifyError('INVALID_OPTIONS', `unsupported digest algorithm "${algorithm}"`);
  }
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/**
 * Hashes `bytes` with the algorithm of `expected` and throws DIGEST_MISMATCH unless they match.
 * `what` names the content for the message ("manifest ... of registry/repo").
 */
export function verifyDigest(expected: string, bytes: Uint8Array, what: string, details: Record<string, unknown> = {}): void {
  const algorithm = expected.slice(0, expected.indexOf(':'));
  const actual = computeDigest(algorithm, bytes);
  if (actual !== expected) {
    throw new ImgverifyError('DIGEST_MISMATCH', `${what}: received ${bytes.length} bytes that hash to ${actual}, not the expected ${expected}`, {
      details: { ...details, expected, actual, size: bytes.length },
    });
  }
}
