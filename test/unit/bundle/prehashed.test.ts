/**
 * Signature verification from a digest (verify-bundle `sha256:<hex>`): for random keys and
 * messages, what node:crypto signs over the message verifies over its digest, and any bit
 * flip in the signature or the digest fails.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { PrehashedMessageContent } from '../../../src/verify/signature-content';
import { verifyPrehashed, type DigestAlgorithm } from '../../../src/bundle/prehashed';
import { ImgverifyError } from '../../../src/errors';
import type * as Nist from '@noble/curves/nist.js' with { 'resolution-mode': 'import' };

// An ES module (@noble/curves 2), loaded as the library loads it.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
const { p256 } = require('@noble/curves/nist.js') as typeof Nist;

interface Pair {
  readonly name: string;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

function ecPairs(curve: 'prime256v1' | 'secp384r1' | 'secp521r1', n: number): Pair[] {
  return Array.from({ length: n }, (_, i) => ({ name: `${curve}#${i}`, ...generateKeyPairSync('ec', { namedCurve: curve }) }));
}

// Key generation is the slow part: a small pool of keys, random messages.
const P256 = ecPairs('prime256v1', 6);
const P384 = ecPairs('secp384r1', 4);
const P521 = ecPairs('secp521r1', 2);
const RSA = Array.from({ length: 2 }, (_, i) => ({ name: `rsa-2048#${i}`, ...generateKeyPairSync('rsa', { modulusLength: 2048 }) }));

function digestOf(algorithm: DigestAlgorithm, message: Uint8Array): Buffer {
  return createHash(algorithm).update(message).digest();
}

/** Bytes of a digest ECDSA uses: the curve order's size (all of it for RSA). */
function usedDigestBytes(key: KeyObject): number {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === 'prime256v1' ? 32 : curve === 'secp384r1' ? 48 : curve === 'secp521r1' ? 66 : Number.MAX_SAFE_INTEGER;
}

function flipBit(bytes: Buffer, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  const i = bit % (copy.length * 8);
  copy[i >> 3]! ^= 1 << (i & 7);
  return copy;
}

const CASES: Array<{ label: string; pairs: Pair[]; algorithms: DigestAlgorithm[] }> = [
  { label: 'ECDSA P-256', pairs: P256, algorithms: ['sha256', 'sha384'] },
  { label: 'ECDSA P-384', pairs: P384, algorithms: ['sha256', 'sha384'] },
  { label: 'ECDSA P-521', pairs: P521, algorithms: ['sha512'] },
  { label: 'RSA PKCS#1 v1.5', pairs: RSA, algorithms: ['sha256', 'sha384', 'sha512'] },
];

describe.each(CASES)('$label', ({ pairs, algorithms }) => {
  const arbitraries = {
    pair: fc.constantFrom(...pairs),
    algorithm: fc.constantFrom(...algorithms),
    message: fc.uint8Array({ minLength: 0, maxLength: 512 }),
  };

  test('a signature node:crypto made over the message verifies over its digest', () => {
    fc.assert(
      fc.property(arbitraries.pair, arbitraries.algorithm, arbitraries.message, (pair, algorithm, message) => {
        const signature = sign(algorithm, message, pair.privateKey);
        expect(verifyPrehashed(pair.publicKey, algorithm, digestOf(algorithm, message), signature)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  test('any bit flip in the signature or the digest fails', () => {
    fc.assert(
      fc.property(arbitraries.pair, arbitraries.algorithm, arbitraries.message, fc.boolean(), fc.nat(), (pair, algorithm, message, inSignature, bit) => {
        const signature = sign(algorithm, message, pair.privateKey);
        const digest = digestOf(algorithm, message);
        // ECDSA uses only the leftmost curve-size bits of a longer digest (see below).
        const digestBits = Math.min(digest.length, usedDigestBytes(pair.publicKey)) * 8;
        const ok = inSignature
          ? verifyPrehashed(pair.publicKey, algorithm, digest, flipBit(signature, bit))
          : verifyPrehashed(pair.publicKey, algorithm, flipBit(digest, bit % digestBits), signature);
        expect(ok).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  test('another key of the same kind does not verify', () => {
    const [a, b] = [pairs[0]!, pairs[1]!];
    const message = Buffer.from('hello');
    const signature = sign(algorithms[0], message, a.privateKey);
    expect(verifyPrehashed(a.publicKey, algorithms[0]!, digestOf(algorithms[0]!, message), signature)).toBe(true);
    expect(verifyPrehashed(b.publicKey, algorithms[0]!, digestOf(algorithms[0]!, message), signature)).toBe(false);
  });
});

describe('ECDSA encodings', () => {
  const pair = P256[0]!;
  const message = Buffer.from('encoding matters');
  const digest = digestOf('sha256', message);

  test('high-S signatures verify, as node:crypto accepts them over the file', () => {
    const signature = p256.Signature.fromBytes(sign('sha256', message, pair.privateKey), 'der');
    const flipped = new p256.Signature(signature.r, p256.Point.Fn.ORDER - signature.s);
    const der = Buffer.from(flipped.toBytes('der'));
    expect(verifyPrehashed(pair.publicKey, 'sha256', digest, der)).toBe(true);
  });

  test('only DER signatures are accepted (not the 64-byte compact form)', () => {
    const compact = Buffer.from(p256.Signature.fromBytes(sign('sha256', message, pair.privateKey), 'der').toBytes('compact'));
    expect(verifyPrehashed(pair.publicKey, 'sha256', digest, compact)).toBe(false);
  });

  test('a digest longer than the curve is truncated to its leftmost bits, as node:crypto does over the file', () => {
    // P-256 with SHA-384: bits past the 256th do not enter ECDSA. Digest-only verification
    // takes SHA-256 digests only, which no supported curve truncates.
    const signature = sign('sha384', message, pair.privateKey);
    const digest384 = digestOf('sha384', message);
    expect(verifyPrehashed(pair.publicKey, 'sha384', flipBit(digest384, 47 * 8), signature)).toBe(true);
    expect(verifyPrehashed(pair.publicKey, 'sha384', flipBit(digest384, 31 * 8), signature)).toBe(false);
  });

  test('a digest of the wrong length fails', () => {
    const signature = sign('sha256', message, pair.privateKey);
    expect(verifyPrehashed(pair.publicKey, 'sha256', digest.subarray(0, 31), signature)).toBe(false);
    expect(verifyPrehashed(pair.publicKey, 'sha384', digest, signature)).toBe(false);
  });
});

describe('RSA', () => {
  const pair = RSA[0]!;
  const message = Buffer.from('rsa by digest');

  test('a signature shorter than the modulus fails (as OpenSSL requires over the file)', () => {
    const signature = sign('sha256', message, pair.privateKey);
    expect(verifyPrehashed(pair.publicKey, 'sha256', digestOf('sha256', message), signature.subarray(1))).toBe(false);
  });

  test('a signature over the same digest with another hash algorithm fails (DigestInfo names it)', () => {
    const signature = sign('sha384', message, pair.privateKey);
    expect(verifyPrehashed(pair.publicKey, 'sha256', digestOf('sha256', message), signature)).toBe(false);
  });
});

describe('key types that cannot be verified from a digest', () => {
  test('Ed25519 is refused with INVALID_OPTIONS and a clear message', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const signature = sign(null, Buffer.from('x'), privateKey);
    let error: unknown;
    try {
      verifyPrehashed(publicKey, 'sha256', digestOf('sha256', Buffer.from('x')), signature);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ImgverifyError);
    expect((error as ImgverifyError).code).toBe('INVALID_OPTIONS');
    expect((error as ImgverifyError).message).toMatch(/Ed25519.*artifact file/);
  });
});

describe('PrehashedMessageContent', () => {
  const pair = P256[1]!;
  const message = Buffer.from('content');
  const digest = digestOf('sha256', message);
  const signature = sign('sha256', message, pair.privateKey);
  const content = new PrehashedMessageContent(signature, digest, 'sha256');

  test('compares log entries with the digest it was given, not with anything in the bundle', () => {
    expect(content.compareDigest(digest)).toBe(true);
    expect(content.compareSignedDigest(digest)).toBe(true);
    expect(content.compareDigest(flipBit(digest, 3))).toBe(false);
    expect(content.compareDigest(digest.subarray(1))).toBe(false);
    expect(content.compareSignature(signature)).toBe(true);
    expect(content.compareSignature(flipBit(signature, 9))).toBe(false);
  });

  test('verifies the signature over the digest', () => {
    expect(content.verifySignature(pair.publicKey)).toBe(true);
    expect(content.verifySignature(P256[2]!.publicKey)).toBe(false);
  });
});
