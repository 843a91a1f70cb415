/**
 * What the trust root remembers (anchor keys, encodings, the signatures between its
 * certificates) never changes a decision: with one loaded root, signatures made while its CA
 * was valid verify and signatures made after its certificates expired, or outside the CA's
 * `validFor`, fail with CERTIFICATE_CHAIN_INVALID, in any order and however often.
 */
import { compilePolicy } from '../../../src/policy/policy';
import { trustRootFromJSON, type LoadedTrustRoot } from '../../../src/trust/trusted-root';
import { policyChecks } from '../../../src/verify/policy-checks';
import { verifyLegacySignatureLayer } from '../../support/verify';
import { createTestSigstore, DEFAULT_ISSUER, type SignedLayer } from '../../support/sigstore';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const SIGNER = 'release@example.test';
const DIGEST = `sha256:${'cd'.repeat(32)}`;

const now = new Date(Math.floor(Date.now() / 1000) * 1000);
// The CA certificates expired a day ago.
const sigstore = createTestSigstore({ now, validFrom: new Date(now.getTime() - 365 * DAY), validUntil: new Date(now.getTime() - DAY) });
const sign = (signedAt: Date, defect?: 'wrong-intermediate'): SignedLayer =>
  sigstore.signImage({ digest: DIGEST, identity: { email: SIGNER }, issuer: DEFAULT_ISSUER, signedAt, ...(defect ? { defect } : {}) });

const whileValid = sign(new Date(now.getTime() - 3 * DAY));
const afterExpiry = sign(new Date(now.getTime() - 2 * HOUR));
const wrongIntermediate = sign(new Date(now.getTime() - 3 * DAY + HOUR), 'wrong-intermediate');

/** 'verified', or the failure code with the reason `@sigstore/verify` gave. */
function verdict(layer: SignedLayer, trust: LoadedTrustRoot): string {
  const r = verifyLegacySignatureLayer(
    layer.payload,
    layer.annotations,
    DIGEST,
    policyChecks(trust, compilePolicy({ subject: SIGNER, issuer: DEFAULT_ISSUER })),
  );
  if (r.verified) return 'verified';
  const reason = /certificate is not valid or expired|no valid certificate path/.exec(r.failure!.message);
  return `${r.failure!.code}: ${reason?.[0] ?? r.failure!.message}`;
}

test('the same root: valid, expired, wrong intermediate, in any order, repeatedly', () => {
  const trust = trustRootFromJSON(sigstore.trustedRoot, 'test');
  const expected: Array<[SignedLayer, string]> = [
    [whileValid, 'verified'],
    [afterExpiry, 'CERTIFICATE_CHAIN_INVALID: certificate is not valid or expired'],
    [wrongIntermediate, 'CERTIFICATE_CHAIN_INVALID: no valid certificate path'],
  ];
  for (const order of [
    [0, 1, 2],
    [1, 0, 2],
    [2, 1, 0],
    [0, 0, 1, 1, 0, 2, 0],
  ]) {
    for (const i of order) {
      const [layer, outcome] = expected[i]!;
      expect(verdict(layer, trust)).toBe(outcome);
    }
  }
});

test("the CA's validFor in the trusted root is checked at every signing time, after a success too", () => {
  // The CA is trusted only until a day before the expiry of its certificates.
  const trust = trustRootFromJSON(sigstore.trustedRootWith({ caValidFor: { start: sigstore.validFrom, end: new Date(now.getTime() - 2 * DAY) } }), 'test');
  const insideValidFor = sign(new Date(now.getTime() - 4 * DAY));
  const outsideValidFor = sign(new Date(now.getTime() - 1.5 * DAY));
  for (let round = 0; round < 2; round++) {
    expect(verdict(insideValidFor, trust)).toBe('verified');
    // No CA of the root is valid at that time: nothing to build a path to.
    expect(verdict(outsideValidFor, trust)).toBe('CERTIFICATE_CHAIN_INVALID: certificate chain check failed: Failed to verify certificate chain');
  }
});
