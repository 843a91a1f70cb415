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
import type { SignatureHashAlgorithm } from '../policy/policy';
import type * as Ed25519 from '@noble/curves/ed25519.js' with { 'resolution-mode': 'import' };

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
    /** The hash ECDSA and RSA signed with, when a key policy names it; else the digest's. */
    private readonly signingHash: SignatureHashAlgorithm = algorithm,
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
        const { ed25519ph } = require('@noble/curves/ed25519.js') as typeof Ed25519;
        return ed25519ph.verify(this.signature, this.message, ed25519Raw(key));
      }
      return cryptoVerify(this.signingHash, this.message, key, this.signature);
    } catch {
      return false;
    }
  }
}

/**
 * A DSSE envelope's signature verified with the hash a key policy names: `@sigstore/verify`'s
 * own content lets node:crypto pick the key's default hash (SHA-256 for ECDSA and RSA), which
 * is not what a key that signs with SHA-384 or SHA-512 made. Everything but the signature check
 * is the library's content, unchanged.
 */
export class HashedDsseContent implements SignatureContent {
  constructor(
    private readonly content: SignatureContent,
    /** The envelope's pre-authentication encoding: what was signed. */
    private readonly preAuthEncoding: Buffer,
    private readonly signingHash: SignatureHashAlgorithm,
  ) {}

  get signature(): Buffer {
    return this.content.signature;
  }

  compareSignature(signature: Buffer): boolean {
    return this.content.compareSignature(signature);
  }

  compareDigest(digest: Buffer): boolean {
    return this.content.compareDigest(digest);
  }

  compareSignedDigest(digest: Buffer): boolean {
    return this.content.compareSignedDigest(digest);
  }

  verifySignature(key: KeyObject): boolean {
    try {
      // Ed25519 signs the encoding itself, whatever hash the policy names.
      const hash = key.asymmetricKeyType === 'ed25519' ? null : this.signingHash;
      return cryptoVerify(hash, this.preAuthEncoding, key, this.signature);
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
