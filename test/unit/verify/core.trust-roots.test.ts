/**
 * Several trust roots in the core's trust step (src/verify/core.ts, src/verify/policy-checks.ts): a signature
 * verifies when every check passes within ONE root, the verdict names that root, and when none
 * verifies the failure is the one of the root that got furthest. A root that lists no
 * transparency log (GitHub's instance for private repositories) verifies signatures that carry
 * an RFC 3161 timestamp instead of a log entry; a root with a log keeps requiring one.
 */
import { compilePolicy, type VerificationPolicy } from '../../../src/policy/policy';
import { trustRootFromJSON, type LoadedTrustRoot } from '../../../src/trust/trusted-root';
import { legacySignatureInput } from '../../../src/verify/adapters/legacy';
import { policyChecks } from '../../../src/verify/policy-checks';
import { verifySignature, type SignatureVerdict } from '../../../src/verify/core';
import { DEFAULT_ISSUER, createTestSigstore, generateKeyPair, publicKeyPem, signImageWithKey, type CosignLayer } from '../../support/sigstore';

const SIGNER = 'release@example.test';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const POLICY: VerificationPolicy = { subject: SIGNER, issuer: DEFAULT_ISSUER };

// Two independent instances: "public" stands for public-good, "private" for a company's own.
const publicSigstore = createTestSigstore({ organization: 'public.test' });
const privateSigstore = createTestSigstore({ organization: 'private.test' });
const PUBLIC = trustRootFromJSON(publicSigstore.trustedRoot, 'public');
const PRIVATE = trustRootFromJSON(privateSigstore.trustedRoot, 'private');
// The private instance as GitHub runs its own: a Fulcio and a TSA, no transparency log, no CT log.
const TSA_ONLY = trustRootFromJSON(privateSigstore.trustedRootWith({ omit: ['tlogs', 'ctlogs'] }), 'private (TSA only)');

function verify(layer: CosignLayer, roots: readonly LoadedTrustRoot[], policy: VerificationPolicy = POLICY): SignatureVerdict {
  return verifySignature(legacySignatureInput(layer.payload, layer.annotations, DIGEST), policyChecks(roots, compilePolicy(policy)));
}

describe('several trust roots', () => {
  const byPublic = publicSigstore.signImage({ digest: DIGEST, identity: { email: SIGNER } });
  const byPrivate = privateSigstore.signImage({ digest: DIGEST, identity: { email: SIGNER } });

  test('each signature verifies under the root it was made under, in either order, and the verdict names it', () => {
    for (const roots of [
      [PUBLIC, PRIVATE],
      [PRIVATE, PUBLIC],
    ]) {
      const a = verify(byPublic, roots);
      expect(a.failure).toBeUndefined();
      expect(a.trustRoot).toBe('public');
      const b = verify(byPrivate, roots);
      expect(b.failure).toBeUndefined();
      expect(b.trustRoot).toBe('private');
    }
  });

  test("one root alone refuses the other instance's signature", () => {
    expect(verify(byPrivate, [PUBLIC]).failure?.code).toBe('CERTIFICATE_CHAIN_INVALID');
    expect(verify(byPublic, [PRIVATE]).failure?.code).toBe('CERTIFICATE_CHAIN_INVALID');
  });

  test('checks never combine across roots: a CA from one and a log key from the other do not verify', () => {
    // Each root mixes the two instances; their union would hold everything `byPublic` needs
    // (its CA, CT log and Rekor key), but neither root does on its own.
    const pub = publicSigstore.trustedRoot;
    const priv = privateSigstore.trustedRoot;
    const caFromPublic = trustRootFromJSON({ ...pub, tlogs: priv.tlogs }, 'public CA, private log');
    const logFromPublic = trustRootFromJSON({ ...priv, tlogs: pub.tlogs }, 'private CA, public log');
    const v = verify(byPublic, [caFromPublic, logFromPublic]);
    expect(v.verified).toBe(false);
    // The root whose CA and SCT passed got furthest: its failure (the SET's unknown key) is reported.
    expect(v.failure?.code).toBe('TLOG_INCLUSION_PROMISE_INVALID');
    expect(v.failure?.message).toMatch(/trust root public CA, private log; no other root verified it: private CA, public log: CERTIFICATE_CHAIN_INVALID/);
    expect(v.trustRoot).toBeUndefined();
  });

  test('when no root verifies, the failure is the one of the root that got furthest, whatever the order', () => {
    const tampered = privateSigstore.signImage({ digest: DIGEST, identity: { email: SIGNER }, defect: 'signature-other-key' });
    for (const roots of [
      [PUBLIC, PRIVATE],
      [PRIVATE, PUBLIC],
    ]) {
      const v = verify(tampered, roots);
      // The public root stops at the certificate chain; the private one gets to the signature.
      expect(v.failure?.code).toBe('SIGNATURE_INVALID');
      expect(v.failure?.details?.trustRoots).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ source: 'public', code: 'CERTIFICATE_CHAIN_INVALID' }),
          expect.objectContaining({ source: 'private', code: 'SIGNATURE_INVALID' }),
        ]),
      );
    }
  });

  test("with one root, the failure is that root's, unchanged", () => {
    const v = verify(byPrivate, [PUBLIC]);
    expect(v.failure?.message).not.toMatch(/trust root/);
    expect(v.failure?.details?.trustRoots).toBeUndefined();
  });

  test('the policy is checked once a root verified the signature: another identity fails as IDENTITY_MISMATCH, naming the root', () => {
    const v = verify(byPrivate, [PUBLIC, PRIVATE], { subject: 'someone@else.test', issuer: DEFAULT_ISSUER });
    expect(v.failure?.code).toBe('IDENTITY_MISMATCH');
    expect(v.trustRoot).toBe('private');
    expect(v.signer?.subject).toBe(SIGNER);
  });
});

describe('a trust root with a timestamp authority and no transparency log', () => {
  // What GitHub's instance signs: a certificate without SCT, an RFC 3161 timestamp, no log entry.
  const tsaSigned = privateSigstore.signImage({ digest: DIGEST, identity: { email: SIGNER }, tlog: false, timestamp: true, defect: 'no-sct' });

  test('verifies a timestamped signature with no log entry, without --insecure-ignore-tlog', () => {
    const v = verify(tsaSigned, [TSA_ONLY]);
    expect(v.failure).toBeUndefined();
    expect(v.verified).toBe(true);
    expect(v.trustRoot).toBe('private (TSA only)');
    expect(v.tlog).toBeUndefined();
    expect(v.signedAt).toBe(tsaSigned.details.signedAt.toISOString().replace(/\.\d{3}Z$/, '.000Z'));
  });

  test('a root that lists a log keeps requiring an entry: the same signature is TLOG_ENTRY_MISSING', () => {
    expect(verify(tsaSigned, [PRIVATE]).failure?.code).toBe('TLOG_ENTRY_MISSING');
    expect(verify(tsaSigned, [PUBLIC]).failure?.code).toBe('TLOG_ENTRY_MISSING');
  });

  test('beside the public root, the TSA-only root verifies it, and the public root still requires a log entry for its own', () => {
    const v = verify(tsaSigned, [PUBLIC, TSA_ONLY]);
    expect(v.trustRoot).toBe('private (TSA only)');
    const publicUnlogged = publicSigstore.signImage({ digest: DIGEST, identity: { email: SIGNER }, tlog: false, timestamp: true });
    expect(verify(publicUnlogged, [PUBLIC, TSA_ONLY]).failure?.code).toBe('TLOG_ENTRY_MISSING');
  });

  test('without a timestamp there is no verified signing time: TIMESTAMP_INVALID', () => {
    const untimed = privateSigstore.signImage({ digest: DIGEST, identity: { email: SIGNER }, tlog: false, defect: 'no-sct' });
    expect(verify(untimed, [TSA_ONLY]).failure?.code).toBe('TIMESTAMP_INVALID');
  });

  test('a timestamp from another TSA does not count', () => {
    const otherTsa = publicSigstore.signImage({ digest: DIGEST, identity: { email: SIGNER }, tlog: false, timestamp: true, defect: 'no-sct' });
    expect(verify(otherTsa, [TSA_ONLY]).verified).toBe(false);
  });

  test('a log entry cannot be checked against a root without logs: refused, not ignored', () => {
    const logged = privateSigstore.signImage({ digest: DIGEST, identity: { email: SIGNER }, timestamp: true, defect: 'no-sct' });
    expect(verify(logged, [TSA_ONLY]).failure?.code).toBe('TLOG_INCLUSION_PROMISE_INVALID');
  });

  test('key-signed: a TSA timestamp stands in for the log entry; without one the signature has no trusted time', () => {
    const key = generateKeyPair('ecdsa-p256');
    const policy = { publicKey: publicKeyPem(key.publicKey) };
    const timed = signImageWithKey(privateSigstore, { digest: DIGEST, privateKey: key.privateKey, tlog: false, timestamp: true });
    expect(verify(timed, [TSA_ONLY], policy).failure).toBeUndefined();
    expect(verify(timed, [PRIVATE], policy).failure?.code).toBe('TLOG_ENTRY_MISSING');
    const untimed = signImageWithKey(privateSigstore, { digest: DIGEST, privateKey: key.privateKey, tlog: false });
    expect(verify(untimed, [TSA_ONLY], policy).failure?.code).toBe('TIMESTAMP_INVALID');
  });
});
