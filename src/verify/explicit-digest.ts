/**
 * Signature checks that never rely on a runtime's default digest.
 *
 * `crypto.verify(undefined, data, key, signature)` lets the runtime choose the digest. Node.js
 * (OpenSSL) chooses SHA-256 for EC, RSA and DSA keys and none for Ed25519/Ed448; Deno throws
 * "no default digest" for EC keys. `@sigstore/core` 4.0.1 makes that call for the Rekor SET
 * (`@sigstore/verify`'s tlog/set.js), the checkpoint signature and DSSE signatures, and turns
 * the exception into `false`: on Deno every SET "does not verify", and a valid image would be
 * reported as tampered (docs/upstream/sigstore-core-default-digest.md). So:
 *   - imgverify's own calls name the digest (`verifyWithDefaultDigest`);
 *   - the library's calls are made, for the duration of our synchronous `Verifier.verify()`
 *     call (./sigstore.ts), through a `@sigstore/core` `crypto.verify` that names Node's
 *     default when the caller gave none (`withExplicitDigests`). Only the missing algorithm is
 *     filled in, with what Node would have used: on Node nothing changes; elsewhere the same
 *     digest is used as on Node, so verdicts agree. The original is restored when the call
 *     returns or throws; no other code runs in between (the call is synchronous).
 * Whether this reaches the `@sigstore/core` that `@sigstore/verify` uses (a second copy may be
 * installed for it) is what the runtime self-test finds out (./runtime-check.ts).
 */
import { verify as cryptoVerify, KeyObject } from 'node:crypto';
import { crypto as sigstoreCrypto } from '@sigstore/core';

/**
 * The digest Node.js uses when none is given: SHA-256 for EC, RSA and DSA keys, null (the
 * scheme's own) for Ed25519 and Ed448; undefined for other key types (left to the runtime).
 */
export function nodeDefaultDigest(key: KeyObject): 'sha256' | null | undefined {
  switch (key.asymmetricKeyType) {
    case 'ec':
    case 'rsa':
    case 'dsa':
      return 'sha256';
    case 'ed25519':
    case 'ed448':
      return null;
    default:
      return undefined;
  }
}

/**
 * `crypto.verify` of a signature made with the key's usual digest (a Rekor SET: SHA-256 for
 * ECDSA keys, the scheme's own for Ed25519), naming it as Node would choose it; false when it
 * throws.
 */
export function verifyWithDefaultDigest(data: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    return cryptoVerify(nodeDefaultDigest(key), data, key, signature);
  } catch {
    return false;
  }
}

type CoreVerify = typeof sigstoreCrypto.verify;
const coreCrypto = sigstoreCrypto as { verify: CoreVerify };
const upstreamVerify: CoreVerify = coreCrypto.verify;

/** `@sigstore/core`'s `crypto.verify`, with Node's default digest named when the caller gave none (null for Ed25519: `crypto.verify` takes it). */
const namingVerify: CoreVerify = (data, key, signature, algorithm) =>
  upstreamVerify(data, key, signature, algorithm ?? ((key instanceof KeyObject ? nodeDefaultDigest(key) : undefined) as string | undefined));

/** Runs `run` (synchronous) with `@sigstore/core`'s `crypto.verify` naming the digest it is not given. */
export function withExplicitDigests<T>(run: () => T): T {
  if (coreCrypto.verify === namingVerify) return run();
  coreCrypto.verify = namingVerify;
  try {
    return run();
  } finally {
    coreCrypto.verify = upstreamVerify;
  }
}
