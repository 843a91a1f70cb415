/**
 * What `@sigstore/verify` verifies a message signature against (its `SignatureContent`), for
 * the two ways imgverify knows the signed message:
 *   - the message bytes (a legacy `.sig` payload, an artifact file): `MessageContent`. The
 *     library's own MessageSignatureContent always passes a hash algorithm to node:crypto,
 *     which is wrong for Ed25519 (a pure signature over the message needs `null`), and cosign
 *     signs with Ed25519ph when it logs to Rekor, which node:crypto cannot verify;
 *     `@noble/curves` (audited) does. ECDSA and RSA use the hash the entry was made with.
 *   - only the message's digest (verify-bundle `sha256:<hex>`): `PrehashedMessageContent`,
 *     verified over the digest by ../bundle/prehashed.ts.
 * Both hold the digest of the artifact being verified, computed or given by the caller and
 * never read from the bundle (its `messageDigest` is an unauthenticated hint), and compare
 * log entries with it.
 */
import { createHash, timingSafeEqual, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { SignedEntity } from '@sigstore/verify';
import { verifyPrehashed, type DigestAlgorithm } from '../bundle/prehashed';

type SignatureContent = SignedEntity['signature'];

function equal(a: Uint8Array, b: Buffer): boolean {
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return x.length === b.length && timingSafeEqual(x, b);
}

function ed25519Raw(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

/** What both contents share: the signature, and the artifact digest log entries must name. */
abstract class DigestedContent implements SignatureContent {
  constructor(
    readonly signature: Buffer,
    /** The artifact's digest under `algorithm`. */
    readonly digest: Buffer,
    readonly algorithm: DigestAlgorithm,
  ) {}

  compareSignature(signature: Buffer): boolean {
    return equal(signature, this.signature);
  }

  compareDigest(digest: Buffer): boolean {
    return equal(digest, this.digest);
  }

  /** A message signature is over the message: the signed digest is the message's digest. */
  compareSignedDigest(digest: Buffer): boolean {
    return this.compareDigest(digest);
  }

  abstract verifySignature(key: KeyObject): boolean;
}

/** A message signature over bytes we hold. */
export class MessageContent extends DigestedContent {
  constructor(
    private readonly message: Buffer,
    signature: Buffer,
    algorithm: DigestAlgorithm,
  ) {
    super(signature, createHash(algorithm).update(message).digest(), algorithm);
  }

  verifySignature(key: KeyObject): boolean {
    try {
      if (key.asymmetricKeyType === 'ed25519') {
        // Pure Ed25519 and Ed25519ph are domain-separated: neither verifies as the other.
        if (cryptoVerify(null, this.message, key, this.signature)) return true;
        // Loaded when first needed (start-up cost): only cosign's Ed25519ph signatures use it.
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
        const { ed25519ph } = require('@noble/curves/ed25519') as typeof import('@noble/curves/ed25519');
        return ed25519ph.verify(this.signature, this.message, ed25519Raw(key));
      }
      return cryptoVerify(this.algorithm, this.message, key, this.signature);
    } catch {
      return false;
    }
  }
}

/** A message signature checked against the message's digest alone (given by the caller). */
export class PrehashedMessageContent extends DigestedContent {
  verifySignature(key: KeyObject): boolean {
    return verifyPrehashed(key, this.algorithm, this.digest, this.signature);
  }
}
