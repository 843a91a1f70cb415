/**
 * The `@sigstore/verify` signature content of a message-signature bundle when only the
 * artifact's digest is known. Its own `MessageSignatureContent` needs the artifact bytes
 * (it hands them to node:crypto) and compares log entries with the bundle's
 * `messageDigest`, which nothing authenticates; this one holds the digest of the artifact
 * being verified — given by the caller, never read from the bundle — and verifies the
 * signature over it (./prehashed.ts).
 */
import { timingSafeEqual, type KeyObject } from 'node:crypto';
import type { SignedEntity } from '@sigstore/verify';
import { verifyPrehashed, type DigestAlgorithm } from './prehashed';

type SignatureContent = SignedEntity['signature'];

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export class PrehashedMessageSignatureContent implements SignatureContent {
  constructor(
    readonly signature: Buffer,
    /** The artifact's digest, computed or given by the caller. */
    private readonly digest: Buffer,
    private readonly algorithm: DigestAlgorithm,
  ) {}

  compareSignature(signature: Buffer): boolean {
    return equal(Buffer.from(signature), this.signature);
  }

  compareDigest(digest: Buffer): boolean {
    return equal(Buffer.from(digest), this.digest);
  }

  /** A message signature is over the artifact: the signed digest is the artifact's digest. */
  compareSignedDigest(digest: Buffer): boolean {
    return this.compareDigest(digest);
  }

  verifySignature(key: KeyObject): boolean {
    return verifyPrehashed(key, this.algorithm, this.digest, this.signature);
  }
}
