/**
 * The signature content of a key-based message signature (cosign `sign --key`), for
 * `@sigstore/verify`. Its own MessageSignatureContent always verifies with a hash algorithm
 * name, which is wrong for Ed25519 (a pure signature over the message: node:crypto needs
 * `null`), and cosign signs with Ed25519ph when it logs to Rekor, which node:crypto cannot
 * verify; `@noble/curves` (audited) does. ECDSA and RSA use the hash the entry was made with.
 */
import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { ed25519ph } from '@noble/curves/ed25519';
import type { SignedEntity } from '@sigstore/verify';

export type HashName = 'sha256' | 'sha384' | 'sha512';
type SignatureContent = SignedEntity['signature'];

function ed25519Raw(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

export class KeyMessageSignatureContent implements SignatureContent {
  private readonly digest: Buffer;

  constructor(
    private readonly artifact: Buffer,
    readonly signature: Buffer,
    private readonly hash: HashName,
  ) {
    this.digest = createHash(hash).update(artifact).digest();
  }

  compareSignature(signature: Buffer): boolean {
    return signature.equals(this.signature);
  }

  compareDigest(digest: Buffer): boolean {
    return digest.equals(this.digest);
  }

  compareSignedDigest(digest: Buffer): boolean {
    return this.compareDigest(digest);
  }

  verifySignature(key: KeyObject): boolean {
    try {
      if (key.asymmetricKeyType === 'ed25519') {
        // Pure Ed25519 and Ed25519ph are domain-separated: neither verifies as the other.
        return cryptoVerify(null, this.artifact, key, this.signature) || ed25519ph.verify(this.signature, this.artifact, ed25519Raw(key));
      }
      return cryptoVerify(this.hash, this.artifact, key, this.signature);
    } catch {
      return false;
    }
  }
}
