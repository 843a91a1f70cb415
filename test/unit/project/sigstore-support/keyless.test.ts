// Self-check: keyless cosign signatures minted by the test Sigstore verify with
// @sigstore/verify, and each defect makes verification fail with the expected error.
import { X509Certificate } from '@sigstore/core';
import crypto from 'node:crypto';
import {
  COSIGN_ANNOTATIONS,
  type KeylessDefect,
  type SignImageOptions,
  type TestSigstore,
  createTestSigstore,
  parseCosignBundle,
  toPem,
} from '../../../support/sigstore';
import { verificationCode, verificationOutcome, verifyLayer } from './verify-helpers';

const digest = `sha256:${'ab'.repeat(32)}`;
const identity = { email: 'release@example.test' };
const issuer = 'https://accounts.example.test';

let sigstore: TestSigstore;
beforeAll(() => {
  sigstore = createTestSigstore();
});

function sign(extra: Partial<SignImageOptions> = {}) {
  return sigstore.signImage({ digest, dockerReference: 'registry.example.test/team/app', identity, issuer, ...extra });
}

describe('valid keyless signatures', () => {
  it('verify with the SET (bundle v0.1), and report the identity and issuer', () => {
    const layer = sign();
    const signer = verifyLayer(layer, {
      trustedRoot: sigstore.trustedRoot,
      policy: { subjectAlternativeName: '^release@example\\.test$', extensions: { issuer } },
    });
    expect(signer.identity?.subjectAlternativeName).toBe('release@example.test');
    expect(signer.identity?.extensions?.issuer).toBe(issuer);
  });

  it('verify with an inclusion proof and checkpoint as well as the SET (bundle v0.2)', () => {
    const layer = sign();
    sign(); // grow the tree so the proof has hashes
    const proof = sigstore.rekor.inclusionProof(layer.details.rekorEntry!);
    expect(proof.hashes.length).toBeGreaterThan(0);
    expect(verificationCode(layer, { trustedRoot: sigstore.trustedRoot, inclusionProof: proof })).toBe('OK');
  });

  it('verify on a sharded log, where global log indexes differ from tree indexes', () => {
    const sharded = createTestSigstore({ rekor: { shardOffset: 50_000_000 } });
    const layer = sharded.signImage({ digest });
    sharded.signImage({ digest });
    expect(layer.details.rekorEntry).toMatchObject({ logIndex: 50_000_000, treeIndex: 0 });
    const proof = sharded.rekor.inclusionProof(layer.details.rekorEntry!);
    expect(verificationCode(layer, { trustedRoot: sharded.trustedRoot, inclusionProof: proof })).toBe('OK');
  });

  it('verify with an inclusion proof and an RFC 3161 timestamp instead of the SET', () => {
    const layer = sign({ timestamp: true });
    const proof = sigstore.rekor.inclusionProof(layer.details.rekorEntry!);
    expect(verificationCode(layer, { trustedRoot: sigstore.trustedRoot, inclusionProof: proof, inclusionPromise: false })).toBe('OK');
  });

  it('without the SET, an inclusion proof alone gives no signing time (@sigstore/verify needs a timestamp)', () => {
    const layer = sign();
    const proof = sigstore.rekor.inclusionProof(layer.details.rekorEntry!);
    expect(verificationOutcome(layer, { trustedRoot: sigstore.trustedRoot, inclusionProof: proof, inclusionPromise: false })).toMatch(
      /^TIMESTAMP_ERROR: expected 1 timestamps, got 0/,
    );
  });

  it('verify with a TSA timestamp and no transparency log (cosign --tlog-upload=false)', () => {
    const layer = sign({ tlog: false, timestamp: true });
    expect(layer.annotations[COSIGN_ANNOTATIONS.bundle]!).toBeUndefined();
    expect(verificationCode(layer, { trustedRoot: sigstore.trustedRoot, verifier: { tlogThreshold: 0 } })).toBe('OK');
  });

  it('verify for URI and OtherName identities and GitHub workflow certificates', () => {
    const uri = sign({ identity: { uri: 'https://ci.example.test/pipelines/release' } });
    expect(verifyLayer(uri, { trustedRoot: sigstore.trustedRoot }).identity?.subjectAlternativeName).toBe('https://ci.example.test/pipelines/release');

    const other = sign({ identity: { otherName: 'builder!oidc.example.test' } });
    const otherSigner = verifyLayer(other, { trustedRoot: sigstore.trustedRoot });
    // @sigstore/verify reads only rfc822Name and URI SANs: an OtherName identity comes back empty.
    expect(otherSigner.identity?.subjectAlternativeName).toBeUndefined();
    const cert = X509Certificate.parse(other.annotations[COSIGN_ANNOTATIONS.certificate]!);
    expect(cert.extSubjectAltName?.otherName('1.3.6.1.4.1.57264.1.7')).toBe('builder!oidc.example.test');

    const gh = sigstore.signImage({
      digest,
      github: { repository: 'octo/app', workflowPath: '.github/workflows/release.yml', ref: 'refs/tags/v1.2.3' },
    });
    const ghSigner = verifyLayer(gh, { trustedRoot: sigstore.trustedRoot });
    expect(ghSigner.identity?.subjectAlternativeName).toBe('https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.2.3');
    expect(ghSigner.identity?.extensions?.issuer).toBe('https://token.actions.githubusercontent.com');
    const ghCert = X509Certificate.parse(gh.annotations[COSIGN_ANNOTATIONS.certificate]!);
    expect(ghCert.extension('1.3.6.1.4.1.57264.1.12')?.valueObj.subs[0]!.value.toString()).toBe('https://github.com/octo/app');
    expect(ghCert.extension('1.3.6.1.4.1.57264.1.5')?.value.toString()).toBe('octo/app'); // deprecated, raw
  });

  it('issuer extensions: the deprecated raw 1.1 alone, or the DER 1.8 alone, are read', () => {
    for (const issuerExtensions of ['v1-only', 'v2-only'] as const) {
      const layer = sign({ certificate: { issuerExtensions } });
      expect(verifyLayer(layer, { trustedRoot: sigstore.trustedRoot }).identity?.extensions?.issuer).toBe(issuer);
    }
  });

  it('signing times are in the past and inside the certificate validity', () => {
    const layer = sign();
    const { signedAt, certificate, rekorEntry } = layer.details;
    expect(signedAt.getTime()).toBeLessThan(Date.now() - 60 * 60 * 1000);
    expect(certificate.notBefore.getTime()).toBeLessThanOrEqual(rekorEntry!.integratedTime * 1000);
    expect(certificate.notAfter.getTime()).toBeGreaterThanOrEqual(rekorEntry!.integratedTime * 1000);
    expect(certificate.notAfter.getTime() - certificate.notBefore.getTime()).toBe(10 * 60 * 1000);
  });

  it('does not verify against another test Sigstore', () => {
    expect(verificationOutcome(sign(), { trustedRoot: sigstore.untrustedRoot() })).toMatch(/^CERTIFICATE_ERROR: .* \/ no valid certificate path found/);
  });
});

describe('each defect breaks verification in the expected place', () => {
  const cases: Array<[KeylessDefect, RegExp]> = [
    ['tampered-payload', /^TLOG_BODY_ERROR: digest mismatch/], // Rekor's hash no longer matches the payload
    ['signature-other-key', /^SIGNATURE_ERROR: signature verification failed/],
    ['set-unknown-key', /^TLOG_INCLUSION_PROMISE_ERROR: inclusion promise could not be verified/],
    ['rekor-body-other-hash', /^TLOG_BODY_ERROR: digest mismatch/],
    ['rekor-body-other-signature', /^TLOG_BODY_ERROR: signature mismatch/],
    ['no-sct', /^CERTIFICATE_ERROR: expected 1 SCTs, got 0/],
    ['sct-unknown-log', /^CERTIFICATE_ERROR: SCT verification failed/],
    ['sct-invalid-signature', /^CERTIFICATE_ERROR: SCT verification failed/],
    ['untrusted-ca', /^CERTIFICATE_ERROR: .* \/ no valid certificate path found/],
    ['wrong-intermediate', /^CERTIFICATE_ERROR: .* \/ no valid certificate path found/],
    ['cert-expired', /^CERTIFICATE_ERROR: .* \/ certificate is not valid or expired at the specified date/],
    ['cert-not-yet-valid', /^CERTIFICATE_ERROR: .* \/ certificate is not valid or expired at the specified date/],
  ];
  it.each(cases)('%s → %s', (defect, outcome) => {
    expect(verificationOutcome(sign({ defect }), { trustedRoot: sigstore.trustedRoot })).toMatch(outcome);
  });

  it('no-issuer-extension: verifies, but an issuer policy fails (UNTRUSTED_SIGNER_ERROR)', () => {
    const layer = sign({ defect: 'no-issuer-extension' });
    expect(verifyLayer(layer, { trustedRoot: sigstore.trustedRoot }).identity?.extensions?.issuer).toBeUndefined();
    expect(verificationOutcome(layer, { trustedRoot: sigstore.trustedRoot, policy: { extensions: { issuer } } })).toMatch(
      /^UNTRUSTED_SIGNER_ERROR: invalid certificate extension/,
    );
  });

  // Defects @sigstore/verify does not see: the project must check these itself.
  it('rekor-body-other-cert: @sigstore/verify accepts it (it never compares the logged certificate)', () => {
    const layer = sign({ defect: 'rekor-body-other-cert' });
    expect(verificationCode(layer, { trustedRoot: sigstore.trustedRoot })).toBe('OK');
    const body = JSON.parse(Buffer.from(parseCosignBundle(layer.annotations[COSIGN_ANNOTATIONS.bundle]!).Payload.body, 'base64').toString());
    const logged = Buffer.from(body.spec.signature.publicKey.content, 'base64').toString();
    expect(logged).not.toBe(layer.annotations[COSIGN_ANNOTATIONS.certificate]!);
  });

  it('a leaf without the codeSigning EKU: @sigstore/verify accepts it (it does not check key usages)', () => {
    const layer = sign({ certificate: { removeExtensions: ['2.5.29.37'] } });
    expect(X509Certificate.parse(layer.annotations[COSIGN_ANNOTATIONS.certificate]!).extension('2.5.29.37')).toBeUndefined();
    expect(verificationCode(layer, { trustedRoot: sigstore.trustedRoot })).toBe('OK');
  });

  it('a wrong chain annotation: @sigstore/verify never reads it (only the trusted root chains)', () => {
    const layer = sign();
    const foreign = sigstore.independentInstance().fulcio.chain;
    const wrongChain = { ...layer, annotations: { ...layer.annotations, [COSIGN_ANNOTATIONS.chain]: foreign.map((d) => toPem('CERTIFICATE', d)).join('') } };
    expect(verificationCode(wrongChain, { trustedRoot: sigstore.trustedRoot })).toBe('OK');
  });

  it('payload-other-digest: @sigstore/verify accepts it (claims are not its business)', () => {
    const layer = sign({ defect: 'payload-other-digest' });
    expect(verificationCode(layer, { trustedRoot: sigstore.trustedRoot })).toBe('OK');
    const claimed = JSON.parse(layer.payload.toString()).critical.image['docker-manifest-digest'];
    expect(claimed).not.toBe(digest);
  });

  it('tampered-payload changes nothing but the payload', () => {
    const layer = sign({ defect: 'tampered-payload' });
    expect(layer.payload.equals(layer.details.signedPayload)).toBe(false);
    const signed = crypto.verify('sha256', layer.details.signedPayload, layer.details.publicKey, layer.details.signature);
    expect(signed).toBe(true);
  });
});

describe('trusted root validity windows', () => {
  it('a CA whose validFor ended before the signing time is not used', () => {
    const layer = sign();
    const root = sigstore.trustedRootWith({ caValidFor: { start: sigstore.validFrom, end: new Date(layer.details.signedAt.getTime() - 60_000) } });
    // No CA is valid at the signing time, so the chain fails with no cause to report.
    expect(verificationOutcome(layer, { trustedRoot: root })).toBe('CERTIFICATE_ERROR: Failed to verify certificate chain');
  });

  it('a Rekor key not yet valid at the integrated time cannot verify the SET', () => {
    const layer = sign();
    const root = sigstore.trustedRootWith({ tlogValidFor: { start: new Date(layer.details.signedAt.getTime() + 60_000) } });
    expect(verificationOutcome(layer, { trustedRoot: root })).toMatch(/^TLOG_INCLUSION_PROMISE_ERROR/);
  });

  it('a CT log key not valid at the SCT time cannot verify the SCT', () => {
    const layer = sign();
    const root = sigstore.trustedRootWith({
      ctlogValidFor: { start: sigstore.validFrom, end: new Date(layer.details.certificate.notBefore.getTime() - 1000) },
    });
    expect(verificationOutcome(layer, { trustedRoot: root })).toMatch(/^CERTIFICATE_ERROR: SCT verification failed/);
  });
});
