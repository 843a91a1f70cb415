// Self-check: key-based cosign signatures (cosign sign --key) verify with @sigstore/verify
// for the key types cosign supports, and their defects are caught.
import crypto from 'node:crypto';
import {
  COSIGN_ANNOTATIONS,
  type KeyDefect,
  type KeyType,
  type TestSigstore,
  createTestSigstore,
  generateKeyPair,
  parseCosignBundle,
  publicKeyPem,
} from '../../../support/sigstore';
import { verificationOutcome } from './verify-helpers';

const digest = `sha256:${'cd'.repeat(32)}`;
const hint = 'release-key';

let sigstore: TestSigstore;
const keys = new Map<KeyType, crypto.KeyObject>();
beforeAll(() => {
  sigstore = createTestSigstore();
  for (const type of ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'ed25519'] as const) keys.set(type, generateKeyPair(type).privateKey);
});

function verify(layer: Parameters<typeof verificationOutcome>[0], privateKey: crypto.KeyObject, withTlog = true): string {
  return verificationOutcome(layer, {
    trustedRoot: sigstore.trustedRoot,
    publicKeyHint: hint,
    publicKey: crypto.createPublicKey(privateKey),
    verifier: withTlog ? {} : { tlogThreshold: 0, timestampThreshold: 0 },
  });
}

describe('key-based signatures', () => {
  it.each(['ecdsa-p256', 'ecdsa-p384', 'rsa-2048'] as const)('%s with a Rekor entry verifies', (type) => {
    const privateKey = keys.get(type)!;
    const layer = sigstore.signImageWithKey({ digest, privateKey, tlog: true });
    expect(verify(layer, privateKey)).toBe('OK');
    const body = JSON.parse(Buffer.from(parseCosignBundle(layer.annotations[COSIGN_ANNOTATIONS.bundle]!).Payload.body, 'base64').toString());
    expect(Buffer.from(body.spec.signature.publicKey.content, 'base64').toString()).toBe(publicKeyPem(privateKey));
  });

  it('ecdsa-p384 signing with SHA-384 logs a sha384 hashedrekord and verifies', () => {
    const privateKey = keys.get('ecdsa-p384')!;
    const layer = sigstore.signImageWithKey({ digest, privateKey, tlog: true, hash: 'sha384' });
    const body = JSON.parse(Buffer.from(parseCosignBundle(layer.annotations[COSIGN_ANNOTATIONS.bundle]!).Payload.body, 'base64').toString());
    expect(body.spec.data.hash.algorithm).toBe('sha384');
    expect(verify(layer, privateKey)).toBe('OK');
  });

  it('without a Rekor entry there is only the signature annotation', () => {
    const privateKey = keys.get('ecdsa-p256')!;
    const layer = sigstore.signImageWithKey({ digest, privateKey });
    expect(Object.keys(layer.annotations)).toEqual([COSIGN_ANNOTATIONS.signature]);
    expect(verify(layer, privateKey, false)).toBe('OK');
  });

  it('ed25519: a pure Ed25519 signature is valid, but @sigstore/verify cannot check a message signature with it', () => {
    const privateKey = keys.get('ed25519')!;
    const layer = sigstore.signImageWithKey({ digest, privateKey, tlog: true });
    expect(crypto.verify(null, layer.payload, crypto.createPublicKey(privateKey), layer.details.signature)).toBe(true);
    // @sigstore/verify passes the bundle's digest algorithm (sha256) to crypto.verify, which Ed25519 rejects.
    expect(verify(layer, privateKey)).toMatch(/^SIGNATURE_ERROR/);
  });

  it('a different key does not verify', () => {
    const layer = sigstore.signImageWithKey({ digest, privateKey: keys.get('ecdsa-p256')! });
    expect(verify(layer, generateKeyPair('ecdsa-p256').privateKey, false)).toMatch(/^SIGNATURE_ERROR/);
  });

  const cases: Array<[KeyDefect, RegExp]> = [
    ['tampered-payload', /^TLOG_BODY_ERROR: digest mismatch/],
    ['signature-other-key', /^SIGNATURE_ERROR/],
    ['set-unknown-key', /^TLOG_INCLUSION_PROMISE_ERROR/],
    ['rekor-body-other-hash', /^TLOG_BODY_ERROR: digest mismatch/],
    ['rekor-body-other-signature', /^TLOG_BODY_ERROR: signature mismatch/],
    ['rekor-body-other-key', /^OK$/], // not checked by @sigstore/verify: the project compares the logged key
    ['payload-other-digest', /^OK$/], // claims are the project's job
  ];
  it.each(cases)('defect %s → %s', (defect, outcome) => {
    const privateKey = keys.get('ecdsa-p256')!;
    expect(verify(sigstore.signImageWithKey({ digest, privateKey, tlog: true, defect }), privateKey)).toMatch(outcome);
  });

  it('rsa: another-signature defect is impossible (PKCS#1 v1.5 is deterministic) and says so', () => {
    expect(() => sigstore.signImageWithKey({ digest, privateKey: keys.get('rsa-2048')!, tlog: true, defect: 'rekor-body-other-signature' })).toThrow(
      /deterministic/,
    );
  });
});
