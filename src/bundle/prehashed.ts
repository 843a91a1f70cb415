/**
 * Verifying a message signature when only the artifact's digest is known (verify-bundle
 * `sha256:<hex>`). A message signature is made over the artifact, but for ECDSA and RSA
 * PKCS#1 v1.5 the artifact enters the computation only through its hash, so the digest is
 * enough:
 *   - ECDSA (P-256, P-384, P-521): node:crypto always hashes what it is given, so the
 *     verification over a digest is done by `@noble/curves` (audited), with `prehash: false`
 *     (the digest is the message hash), `lowS: false` (OpenSSL and Go accept high-S
 *     signatures, as node:crypto does for the same signature over the file) and
 *     `format: 'der'` (what node:crypto accepts, nothing else). As over the file, a digest
 *     longer than the curve order is truncated to its leftmost bits (P-256 with SHA-384);
 *     digest-only verification takes SHA-256 digests, which no supported curve truncates.
 *   - RSA PKCS#1 v1.5: the public-key operation recovers the encoded message
 *     (`publicDecrypt` with PKCS#1 type-1 padding checks 00 01 FF..FF 00), which must be
 *     byte-for-byte the DER DigestInfo of the digest — a full comparison, never a parse, so
 *     no Bleichenbacher-2006 style forgery. The signature must be exactly the modulus size,
 *     as OpenSSL requires when verifying over the file.
 *   - Ed25519 signs the message itself (and Ed25519ph a SHA-512 of it): a SHA-256 digest
 *     cannot verify either. That is reported as a usage error (give the artifact file).
 *   - RSA-PSS and other key types are not supported from a digest, likewise.
 */
import { constants, publicDecrypt, timingSafeEqual, type KeyObject } from 'node:crypto';
import type * as Nist from '@noble/curves/nist.js' with { 'resolution-mode': 'import' };
import { ImgverifyError } from '../errors';

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

const DIGEST_LENGTHS: Readonly<Record<DigestAlgorithm, number>> = Object.freeze({ sha256: 32, sha384: 48, sha512: 64 });

/** DER of `DigestInfo ::= SEQUENCE { AlgorithmIdentifier (hash OID, NULL), OCTET STRING }` up to the digest. */
const DIGEST_INFO_PREFIX: Readonly<Record<DigestAlgorithm, Buffer>> = Object.freeze({
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
});

/**
 * By Node's curve name; the three share one type (@noble/curves' ECDSA). Loaded on first use:
 * only a verification from a digest needs them, and importing imgverify stays cheap.
 * `@noble/curves` 2 is an ES module: `require()` loads it synchronously (Node.js 22.12+, Bun,
 * Deno) and bundlers convert it.
 */
function curves(): Readonly<Record<string, typeof Nist.p256 | undefined>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed (start-up cost)
  const nist = require('@noble/curves/nist.js') as typeof Nist;
  return { prime256v1: nist.p256, secp384r1: nist.p384, secp521r1: nist.p521 };
}

function unsupported(why: string): ImgverifyError {
  return new ImgverifyError('INVALID_OPTIONS', `${why}: it cannot be verified from a digest; verify with the artifact file instead`);
}

/** The uncompressed SEC1 point (04 || X || Y) of an EC public key. */
function ecPoint(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') throw unsupported('EC public key without coordinates');
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

function verifyEcdsa(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const curveName = key.asymmetricKeyDetails?.namedCurve ?? '';
  const known = curves();
  const curve = Object.hasOwn(known, curveName) ? known[curveName] : undefined;
  if (!curve) throw unsupported(`the signing key is on the elliptic curve ${curveName || 'unknown'}`);
  try {
    return curve.verify(signature, digest, ecPoint(key), { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false;
  }
}

function verifyRsaPkcs1(key: KeyObject, algorithm: DigestAlgorithm, digest: Buffer, signature: Buffer): boolean {
  const modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  if (modulusBytes === 0 || signature.length !== modulusBytes) return false;
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
  const expected = Buffer.concat([DIGEST_INFO_PREFIX[algorithm], digest]);
  return recovered.length === expected.length && timingSafeEqual(recovered, expected);
}

/**
 * Verifies `signature` by `key` over the artifact whose `algorithm` digest is `digest`.
 * Returns false when the signature does not verify; throws INVALID_OPTIONS when the key
 * type cannot be verified from a digest at all.
 */
export function verifyPrehashed(key: KeyObject, algorithm: DigestAlgorithm, digest: Buffer, signature: Buffer): boolean {
  if (digest.length !== DIGEST_LENGTHS[algorithm]) return false;
  switch (key.asymmetricKeyType) {
    case 'ec':
      return verifyEcdsa(key, digest, signature);
    case 'rsa':
      return verifyRsaPkcs1(key, algorithm, digest, signature);
    case 'ed25519':
      throw unsupported('the signature is Ed25519, which signs the artifact itself, not its digest');
    default:
      throw unsupported(`the signing key type ${String(key.asymmetricKeyType)} is not supported`);
  }
}
