/**
 * The one per-signature algorithm (src/verify/core.ts), through its adapters, on signatures
 * minted by the private test Sigstore: each numbered step fails with its own code, in order,
 * and what the steps before a failure established stays in the verdict.
 */
import { createHash } from 'node:crypto';
import { compilePolicy, type VerificationPolicy } from '../../../src/policy/policy';
import { trustRootFromJSON } from '../../../src/trust/trusted-root';
import { artifactBundleInput, referrerBundleInput } from '../../../src/verify/adapters/bundle';
import { legacyAttestationInput, legacySignatureInput } from '../../../src/verify/adapters/legacy';
import { policyChecks, type PolicyChecks } from '../../../src/verify/policy-checks';
import { verifySignature, type SignatureVerdict } from '../../../src/verify/core';
import {
  DEFAULT_ISSUER,
  attestImageWithKey,
  createTestSigstore,
  generateKeyPair,
  legacyLayerToBundle,
  publicKeyPem,
  signImageWithKey,
  type CosignLayer,
} from '../../support/sigstore';

const SIGNER = 'release@example.test';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const sigstore = createTestSigstore();
const trust = trustRootFromJSON(sigstore.trustedRoot, 'test sigstore');
const ctx = (policy: VerificationPolicy): PolicyChecks => policyChecks(trust, compilePolicy(policy));
const KEYLESS = ctx({ subject: SIGNER, issuer: DEFAULT_ISSUER });

function legacy(layer: CosignLayer, digest = DIGEST, checks = KEYLESS): SignatureVerdict {
  return verifySignature(legacySignatureInput(layer.payload, layer.annotations, digest), checks);
}

describe('a valid legacy signature', () => {
  const layer = sigstore.signImage({ digest: DIGEST, identity: { email: SIGNER } });
  const entry = layer.details.rekorEntry!;

  test('passes every step and reports what each established', () => {
    const v = legacy(layer);
    expect(v.failure).toBeUndefined();
    expect(v).toMatchObject({
      verified: true,
      tlog: { logIndex: entry.logIndex, logId: entry.logID, integratedTime: new Date(entry.integratedTime * 1000).toISOString() },
      signedAt: new Date(entry.integratedTime * 1000).toISOString(),
      signedDigest: DIGEST,
      signer: { subject: SIGNER, issuer: DEFAULT_ISSUER },
      messageDigest: `sha256:${createHash('sha256').update(layer.payload).digest('hex')}`,
    });
  });

  test('6. policy: another identity fails, and the verdict still says who signed (facts on failure)', () => {
    const v = legacy(layer, DIGEST, ctx({ subject: 'someone@else.test', issuer: DEFAULT_ISSUER }));
    expect(v.verified).toBe(false);
    expect(v.failure?.code).toBe('IDENTITY_MISMATCH');
    expect(v.signer).toMatchObject({ subject: SIGNER, issuer: DEFAULT_ISSUER, subjectAlternativeNames: [{ type: 'email', value: SIGNER }] });
    expect(v.tlog?.logIndex).toBe(entry.logIndex);
    expect(v.signedDigest).toBe(DIGEST);
  });

  test('4. binding: another image digest fails after the trust checks, which stay established', () => {
    const other = `sha256:${'cd'.repeat(32)}`;
    const v = legacy(layer, other);
    expect(v.failure?.code).toBe('PAYLOAD_DIGEST_MISMATCH');
    expect(v.failure?.details).toEqual({ signed: DIGEST, image: other });
    expect(v.tlog?.logIndex).toBe(entry.logIndex);
    expect(v.signer).toBeUndefined();
  });
});

describe('each step fails with its own code, and nothing after it is established', () => {
  test.each([
    ['2. trust: untrusted CA', 'untrusted-ca', 'CERTIFICATE_CHAIN_INVALID'],
    ['2. trust: no SCT', 'no-sct', 'SCT_INVALID'],
    ['2. trust: SET by an unknown key', 'set-unknown-key', 'TLOG_INCLUSION_PROMISE_INVALID'],
    ['2. trust: the log entry names another certificate', 'rekor-body-other-cert', 'TLOG_BODY_MISMATCH'],
    ['3. signature: made by another key', 'signature-other-key', 'SIGNATURE_INVALID'],
  ] as const)('%s', (_name, defect, code) => {
    const v = legacy(sigstore.signImage({ digest: DIGEST, identity: { email: SIGNER }, defect }));
    expect(v.verified).toBe(false);
    expect(v.failure?.code).toBe(code);
    expect(v.signer).toBeUndefined();
    expect(v.tlog).toBeUndefined();
    expect(v.signedDigest).toBeUndefined();
  });

  test('2. trust: no log entry is refused before any cryptography', () => {
    const v = legacy(sigstore.signImage({ digest: DIGEST, identity: { email: SIGNER }, tlog: false }));
    expect(v.failure?.code).toBe('TLOG_ENTRY_MISSING');
  });

  test('1. decode: a key-signed layer under an identity policy', () => {
    const key = generateKeyPair('ecdsa-p256');
    const layer = signImageWithKey(sigstore, { digest: DIGEST, privateKey: key.privateKey, tlog: true });
    const v = legacy(layer);
    expect(v.failure?.code).toBe('SIGNATURE_MALFORMED');
    expect(v.failure?.message).toMatch(/key-based/);
    // …which verifies under its key, and the signer is that key.
    const byKey = legacy(layer, DIGEST, ctx({ publicKey: publicKeyPem(key.publicKey) }));
    expect(byKey.failure).toBeUndefined();
    expect(byKey.signer?.publicKeySha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('bundles: certificate material under a key policy', () => {
  const layer = sigstore.signImage({ digest: DIGEST, identity: { email: SIGNER } });
  const keyPolicy = ctx({ publicKey: publicKeyPem(generateKeyPair('ecdsa-p256').publicKey) });

  test('a certificate bundle is refused as keyless (its material is exactly one of certificate and key)', () => {
    const v = verifySignature(artifactBundleInput(legacyLayerToBundle(layer), { bytes: layer.payload }), keyPolicy);
    expect(v.failure?.code).toBe('KEY_MISMATCH');
  });

  test('a legacy layer ignores its certificate, as cosign verify --key does: the key does not verify it', () => {
    expect(legacy(layer, DIGEST, keyPolicy).failure?.code).toBe('SIGNATURE_INVALID');
  });
});

test('4. binding: a message-signature bundle attached to an image is not a statement about it', () => {
  const layer = sigstore.signImage({ digest: DIGEST, identity: { email: SIGNER } });
  const bundle = Buffer.from(JSON.stringify(legacyLayerToBundle(layer)));
  // The bundle signs the payload, whose SHA-256 is not the image digest: refused before any cryptography.
  expect(verifySignature(referrerBundleInput(bundle, DIGEST), KEYLESS).failure?.code).toBe('DIGEST_MISMATCH');
  const asImage = `sha256:${createHash('sha256').update(layer.payload).digest('hex')}`;
  const v = verifySignature(referrerBundleInput(bundle, asImage), KEYLESS);
  expect(v.failure?.code).toBe('PAYLOAD_INVALID');
  expect(v.tlog).toBeDefined();
});

describe("3. signature: the hash a key policy names (cosign --signature-digest-algorithm, policy-controller's key.hashAlgorithm)", () => {
  const HASHES = ['sha224', 'sha256', 'sha384', 'sha512'] as const;
  const keyPolicy = (publicKey: string, hashAlgorithm?: (typeof HASHES)[number]) =>
    ctx({ publicKey, ...(hashAlgorithm ? { hashAlgorithm } : {}), insecureIgnoreTlog: true });

  test.each([
    ['ECDSA P-256', 'ecdsa-p256'],
    ['RSA 2048', 'rsa-2048'],
  ] as const)('%s: a signature made with each hash verifies only under that hash', (_name, type) => {
    const key = generateKeyPair(type);
    const pem = publicKeyPem(key.publicKey);
    for (const made of HASHES) {
      const layer = signImageWithKey(sigstore, { digest: DIGEST, privateKey: key.privateKey, hash: made, tlog: false });
      for (const named of HASHES) {
        const v = legacy(layer, DIGEST, keyPolicy(pem, named));
        expect([made, named, v.verified ? 'ok' : v.failure?.code]).toEqual([made, named, made === named ? 'ok' : 'SIGNATURE_INVALID']);
      }
    }
  });

  test('without a named hash, a key-signed payload is checked with SHA-256 (no log entry to say otherwise)', () => {
    const key = generateKeyPair('ecdsa-p256');
    const pem = publicKeyPem(key.publicKey);
    expect(legacy(signImageWithKey(sigstore, { digest: DIGEST, privateKey: key.privateKey, tlog: false }), DIGEST, keyPolicy(pem)).verified).toBe(true);
    expect(
      legacy(signImageWithKey(sigstore, { digest: DIGEST, privateKey: key.privateKey, hash: 'sha512', tlog: false }), DIGEST, keyPolicy(pem)).failure?.code,
    ).toBe('SIGNATURE_INVALID');
  });

  test('a logged SHA-512 signature verifies under sha512, and the log entry is still checked', () => {
    const key = generateKeyPair('ecdsa-p384');
    const layer = signImageWithKey(sigstore, { digest: DIGEST, privateKey: key.privateKey, hash: 'sha512', tlog: true });
    const v = legacy(layer, DIGEST, ctx({ publicKey: publicKeyPem(key.publicKey), hashAlgorithm: 'sha512' }));
    expect(v.failure).toBeUndefined();
    expect(v.tlog?.logIndex).toBe(layer.details.rekorEntry!.logIndex);
    expect(legacy(layer, DIGEST, ctx({ publicKey: publicKeyPem(key.publicKey), hashAlgorithm: 'sha256' })).failure?.code).toBe('SIGNATURE_INVALID');
  });

  test('Ed25519 signs the message itself: the named hash does not change it', () => {
    const key = generateKeyPair('ed25519');
    const layer = signImageWithKey(sigstore, { digest: DIGEST, privateKey: key.privateKey, tlog: false });
    expect(legacy(layer, DIGEST, keyPolicy(publicKeyPem(key.publicKey), 'sha512')).verified).toBe(true);
  });

  test('attestations (DSSE) are verified with the named hash too', () => {
    const key = generateKeyPair('ecdsa-p256');
    const pem = publicKeyPem(key.publicKey);
    for (const made of HASHES) {
      const layer = attestImageWithKey(sigstore, {
        digest: DIGEST,
        predicateType: 'https://example.test/p',
        predicate: {},
        privateKey: key.privateKey,
        hash: made,
      });
      for (const named of HASHES) {
        const v = verifySignature(legacyAttestationInput(layer.payload, layer.annotations, DIGEST), keyPolicy(pem, named));
        expect([made, named, v.verified ? 'ok' : v.failure?.code]).toEqual([made, named, made === named ? 'ok' : 'SIGNATURE_INVALID']);
      }
    }
  });

  test('an unknown hash is a policy error', () => {
    expect(() => compilePolicy({ publicKey: publicKeyPem(generateKeyPair('ecdsa-p256').publicKey), hashAlgorithm: 'md5' as 'sha256' })).toThrow(
      /hashAlgorithm must be one of sha224, sha256, sha384, sha512, got string "md5"/,
    );
  });
});

describe('2. trust: a key signature without a log entry (cosign sign --key --tlog-upload=false)', () => {
  const key = generateKeyPair('ecdsa-p256');
  const layer = signImageWithKey(sigstore, { digest: DIGEST, privateKey: key.privateKey, tlog: false });

  test('is refused when the log is required, and verified when the policy waives it', () => {
    expect(legacy(layer, DIGEST, ctx({ publicKey: publicKeyPem(key.publicKey) })).failure?.code).toBe('TLOG_ENTRY_MISSING');
    expect(legacy(layer, DIGEST, ctx({ publicKey: publicKeyPem(key.publicKey), insecureIgnoreTlog: true })).verified).toBe(true);
  });
});
