/**
 * Key-based signatures (cosign sign --key) and RFC 3161 timestamps, against a real registry.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createVerifier, type ImageVerifier } from '../../src';
import type { RunningRegistry } from '../support/registry';
import { startVerificationEnvironment, type VerificationEnvironment } from '../support/environment';
import { pushSignatures, pushTestImage } from '../support/signed-images';
import type { CosignLayer, KeyDefect, TestSigstore } from '../support/sigstore';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';

let registry: RunningRegistry;
let sigstore: TestSigstore;
let verifier: ImageVerifier;
let n = 0;

let env: VerificationEnvironment | undefined;
beforeAll(async () => {
  env = await startVerificationEnvironment();
  ({ registry, sigstore, verifier } = env);
});
afterAll(() => env?.stop());

async function signedWith(make: (digest: string) => CosignLayer[]): Promise<string> {
  const repo = `keys/app-${++n}`;
  const image = await pushTestImage(registry, repo, 'v1');
  await pushSignatures(registry, repo, image.digest, make(image.digest));
  return `${registry.host}/${repo}:v1`;
}

const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }) as string;

const KEY_TYPES: Array<[string, () => { publicKey: KeyObject; privateKey: KeyObject }]> = [
  ['ECDSA P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ['ECDSA P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' })],
  ['RSA-2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ['Ed25519', () => generateKeyPairSync('ed25519')],
];

describe.each(KEY_TYPES)('%s key', (_name, generate) => {
  const keys = generate();

  test('with a transparency-log entry: verified by the key', async () => {
    const ref = await signedWith((digest) => [sigstore.signImageWithKey({ digest, privateKey: keys.privateKey, tlog: true })]);
    const result = await verifier.verify(ref, { publicKey: pem(keys.publicKey) });
    expect(result.error).toBeUndefined();
    expect(result.verified).toBe(true);
    expect(result.signatures[0]!.signer?.publicKeySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.signatures[0]!.tlog).toBeDefined();
  });

  test('without a log entry: refused, unless --insecure-ignore-tlog', async () => {
    const ref = await signedWith((digest) => [sigstore.signImageWithKey({ digest, privateKey: keys.privateKey, tlog: false })]);
    const strict = await verifier.verify(ref, { publicKey: pem(keys.publicKey) });
    expect(strict.error?.code).toBe('TLOG_ENTRY_MISSING');
    const lax = await verifier.verify(ref, { publicKey: pem(keys.publicKey), insecureIgnoreTlog: true });
    expect(lax.error).toBeUndefined();
    expect(lax.verified).toBe(true);
  });

  test('another key → SIGNATURE_INVALID', async () => {
    const ref = await signedWith((digest) => [sigstore.signImageWithKey({ digest, privateKey: keys.privateKey, tlog: true })]);
    const other = generate();
    const result = await verifier.verify(ref, { publicKey: pem(other.publicKey) });
    expect(result.verified).toBe(false);
    expect(result.error?.code).toBe('SIGNATURE_INVALID');
  });
});

test('P-384 with SHA-384 (the hash recorded in the Rekor entry is used)', async () => {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ref = await signedWith((digest) => [sigstore.signImageWithKey({ digest, privateKey: keys.privateKey, tlog: true, hash: 'sha384' })]);
  const result = await verifier.verify(ref, { publicKey: pem(keys.publicKey) });
  expect(result.error).toBeUndefined();
  expect(result.verified).toBe(true);
});

describe('key-signature defects', () => {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  test.each<[KeyDefect, string]>([
    ['tampered-payload', 'TLOG_BODY_MISMATCH'],
    ['payload-other-digest', 'PAYLOAD_DIGEST_MISMATCH'],
    ['signature-other-key', 'SIGNATURE_INVALID'],
    ['set-unknown-key', 'TLOG_INCLUSION_PROMISE_INVALID'],
    ['rekor-body-other-key', 'TLOG_BODY_MISMATCH'],
    ['rekor-body-other-hash', 'TLOG_BODY_MISMATCH'],
    ['rekor-body-other-signature', 'TLOG_BODY_MISMATCH'],
  ])('%s → %s', async (defect, code) => {
    const ref = await signedWith((digest) => [sigstore.signImageWithKey({ digest, privateKey: keys.privateKey, tlog: true, defect })]);
    const result = await verifier.verify(ref, { publicKey: pem(keys.publicKey) });
    expect(result.verified).toBe(false);
    expect(result.error?.code).toBe(code);
  });

  test('a keyless signature does not pass a key policy, and a key signature does not pass an identity policy', async () => {
    const ref = await signedWith((digest) => [
      sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER }),
      sigstore.signImageWithKey({ digest, privateKey: keys.privateKey, tlog: true }),
    ]);
    const byKey = await verifier.verify(ref, { publicKey: pem(keys.publicKey) });
    expect(byKey.verified).toBe(true);
    expect(byKey.signatures.map((s) => s.verified)).toEqual([false, true]);
    expect(byKey.signatures[0]!.failure?.code).toBe('SIGNATURE_INVALID');
    const byIdentity = await verifier.verify(ref, { subject: SIGNER, issuer: ISSUER });
    expect(byIdentity.signatures.map((s) => s.verified)).toEqual([true, false]);
    expect(byIdentity.signatures[1]!.failure?.code).toBe('SIGNATURE_MALFORMED');
    expect(byIdentity.signatures[1]!.failure?.message).toContain('key-based');
  });
});

describe('--insecure-ignore-sct', () => {
  test('accepts a certificate without an SCT; without the option it is SCT_INVALID', async () => {
    const ref = await signedWith((digest) => [sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER, defect: 'no-sct' })]);
    expect((await verifier.verify(ref, { subject: SIGNER, issuer: ISSUER })).error?.code).toBe('SCT_INVALID');
    const lax = await verifier.verify(ref, { subject: SIGNER, issuer: ISSUER, insecureIgnoreSct: true });
    expect(lax.error).toBeUndefined();
    expect(lax.verified).toBe(true);
  });

  test('an SCT that is present must still verify (stricter than cosign, documented)', async () => {
    const ref = await signedWith((digest) => [sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER, defect: 'sct-invalid-signature' })]);
    expect((await verifier.verify(ref, { subject: SIGNER, issuer: ISSUER, insecureIgnoreSct: true })).error?.code).toBe('SCT_INVALID');
  });
});

describe('RFC 3161 timestamps', () => {
  test('a keyless signature with a Rekor entry and a timestamp verifies', async () => {
    const ref = await signedWith((digest) => [sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER, timestamp: true })]);
    const result = await verifier.verify(ref, { subject: SIGNER, issuer: ISSUER });
    expect(result.error).toBeUndefined();
    expect(result.verified).toBe(true);
  });

  test('the signing time for the certificate comes from a verified timestamp (no Rekor entry)', async () => {
    const withTs = await signedWith((digest) => [sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER, tlog: false, timestamp: true })]);
    const policy = { subject: SIGNER, issuer: ISSUER, insecureIgnoreTlog: true };
    const ok = await verifier.verify(withTs, policy);
    expect(ok.error).toBeUndefined();
    expect(ok.verified).toBe(true);
    // Without any verified time the short-lived certificate cannot be checked.
    const noTs = await signedWith((digest) => [sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER, tlog: false })]);
    const bad = await verifier.verify(noTs, policy);
    expect(bad.error?.code).toBe('TIMESTAMP_INVALID');
  });

  test('a timestamp from a TSA the trust root does not list → TIMESTAMP_INVALID', async () => {
    const ref = await signedWith((digest) => [sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER, timestamp: true })]);
    const noTsa = createVerifier({ trustedRoot: sigstore.trustedRootWith({ omit: ['timestampAuthorities'] }) as unknown as Record<string, unknown> });
    try {
      const result = await noTsa.verify(ref, { subject: SIGNER, issuer: ISSUER });
      expect(result.verified).toBe(false);
      expect(result.error?.code).toBe('TIMESTAMP_INVALID');
    } finally {
      await noTsa.close();
    }
  });

  test('a timestamp outside the TSA validity window in the trust root → TIMESTAMP_INVALID', async () => {
    const ref = await signedWith((digest) => [sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER, timestamp: true })]);
    const future = new Date(Date.now() + 3600_000);
    const root = sigstore.trustedRootWith({ tsaValidFor: { start: future } });
    const late = createVerifier({ trustedRoot: root as unknown as Record<string, unknown> });
    try {
      expect((await late.verify(ref, { subject: SIGNER, issuer: ISSUER })).error?.code).toBe('TIMESTAMP_INVALID');
    } finally {
      await late.close();
    }
  });
});
