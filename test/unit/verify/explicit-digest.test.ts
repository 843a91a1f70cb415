/**
 * The digest is named where a runtime would otherwise choose it: imgverify's own SET check
 * and, during `@sigstore/verify`'s calls, `@sigstore/core`'s `crypto.verify`. Under an
 * emulation of Deno's `crypto.verify` (no default digest for EC keys), a valid signature with a
 * Rekor SET still verifies; without the fix it was reported as TLOG_INCLUSION_PROMISE_INVALID.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { crypto as sigstoreCrypto } from '@sigstore/core';
import { createVerifier } from '../../../src';
import { nodeDefaultDigest, verifyWithDefaultDigest, withExplicitDigests } from '../../../src/verify/explicit-digest';
import { emulateDenoVerify } from '../../support/deno-crypto';
import { DEFAULT_ISSUER, createTestSigstore, legacyLayerToBundle } from '../../support/sigstore';
import { verified } from '../../support/verify';

const message = Buffer.from('signed bytes');

test("Node's default digest by key type: SHA-256 for EC, RSA and DSA; the scheme's own for Ed25519 and Ed448", () => {
  expect(nodeDefaultDigest(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)).toBe('sha256');
  expect(nodeDefaultDigest(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey)).toBe('sha256');
  expect(nodeDefaultDigest(generateKeyPairSync('ed25519').publicKey)).toBeNull();
  expect(nodeDefaultDigest(generateKeyPairSync('ed448').publicKey)).toBeNull();
  expect(nodeDefaultDigest(generateKeyPairSync('x25519').publicKey)).toBeUndefined();
});

test.each([
  ['ECDSA P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ['ECDSA P-384 (still SHA-256, as Node)', () => generateKeyPairSync('ec', { namedCurve: 'P-384' })],
  ['Ed25519', () => generateKeyPairSync('ed25519')],
])('%s: what Node verifies without a digest verifies, also where the runtime has no default digest', (_name, keys) => {
  const { publicKey, privateKey } = keys();
  const signature = sign(publicKey.asymmetricKeyType === 'ed25519' ? null : 'sha256', message, privateKey);
  const other = Buffer.from(signature);
  other[other.length - 1]! ^= 1;
  const deno = emulateDenoVerify();
  try {
    expect(verifyWithDefaultDigest(message, publicKey, signature)).toBe(true);
    expect(verifyWithDefaultDigest(message, publicKey, other)).toBe(false);
    expect(withExplicitDigests(() => sigstoreCrypto.verify(message, publicKey, signature))).toBe(true);
    expect(withExplicitDigests(() => sigstoreCrypto.verify(message, publicKey, other))).toBe(false);
    // Outside the call, @sigstore/core is itself again (here: the emulated runtime's answer).
    expect(sigstoreCrypto.verify(message, publicKey, signature)).toBe(publicKey.asymmetricKeyType === 'ed25519');
  } finally {
    deno.mockRestore();
  }
});

test("a digest the caller names is kept; @sigstore/core's verify is restored when the call throws", () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signature = sign('sha384', message, privateKey);
  const upstream = sigstoreCrypto.verify;
  expect(withExplicitDigests(() => sigstoreCrypto.verify(message, publicKey, signature, 'sha384'))).toBe(true);
  expect(withExplicitDigests(() => sigstoreCrypto.verify(message, publicKey, signature))).toBe(false);
  expect(() =>
    withExplicitDigests(() => {
      expect(sigstoreCrypto.verify).not.toBe(upstream);
      throw new Error('boom');
    }),
  ).toThrow('boom');
  expect(sigstoreCrypto.verify).toBe(upstream);
});

test('regression: under a runtime without a default digest (Deno), a valid signature with a Rekor SET verifies (was TLOG_INCLUSION_PROMISE_INVALID)', () => {
  const sigstore = createTestSigstore();
  const signed = sigstore.signImage({ digest: `sha256:${'cd'.repeat(32)}`, identity: { email: 'release@example.test' } });
  const verifier = createVerifier({ trustedRoot: sigstore.trustedRoot });
  const deno = emulateDenoVerify();
  try {
    const result = verified(
      verifier.verifyBundle(legacyLayerToBundle(signed), { bytes: signed.payload }, { subject: 'release@example.test', issuer: DEFAULT_ISSUER }),
    );
    expect(result.signer.subject).toBe('release@example.test');
  } finally {
    deno.mockRestore();
  }
});
