/** The verifier's pure side: prepared policies are opaque and bound to the trust root they were compiled for. */
import { createVerifier } from '../../../src';
import { DEFAULT_ISSUER, createTestSigstore, legacyLayerToBundle } from '../../support/sigstore';

const SIGNER = 'release@example.test';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const a = createTestSigstore();
const b = createTestSigstore();

test('a prepared policy is opaque: only its description is visible', () => {
  const prepared = createVerifier({ trustedRoot: a.trustedRoot }).preparePolicy({ subject: SIGNER, issuer: DEFAULT_ISSUER });
  expect(Object.keys(prepared)).toEqual(['description']);
  expect(prepared.description).toContain(SIGNER);
  expect(Object.isFrozen(prepared)).toBe(true);
});

test("a policy prepared for one trust root is compiled again for another, never checked against the first one's keys", () => {
  const verifierA = createVerifier({ trustedRoot: a.trustedRoot });
  const verifierB = createVerifier({ trustedRoot: b.trustedRoot });
  const prepared = verifierA.preparePolicy({ subject: SIGNER, issuer: DEFAULT_ISSUER });
  const signedByB = b.signImage({ digest: DIGEST, identity: { email: SIGNER } });
  const bundle = legacyLayerToBundle(signedByB);
  expect(verifierB.verifyBundle(bundle, { bytes: signedByB.payload }, prepared).signer.subject).toBe(SIGNER);
  expect(() => verifierA.verifyBundle(bundle, { bytes: signedByB.payload }, prepared)).toThrow(expect.objectContaining({ code: 'CERTIFICATE_CHAIN_INVALID' }));
});
