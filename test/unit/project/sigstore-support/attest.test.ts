// Self-check: keyless cosign attestations (DSSE + in-toto, Rekor intoto 0.0.2 or dsse 0.0.1)
// minted by the test Sigstore verify with @sigstore/verify.
import { COSIGN_ANNOTATIONS, type TestSigstore, buildSignatureManifest, createTestSigstore } from '../../../support/sigstore';
import { verificationOutcome, verifyLayer } from './verify-helpers';

const digest = `sha256:${'ef'.repeat(32)}`;
const predicateType = 'https://slsa.dev/provenance/v0.2';
const predicate = { builder: { id: 'https://ci.example.test/builder' }, buildType: 'https://example.test/build@v1' };

let sigstore: TestSigstore;
beforeAll(() => {
  sigstore = createTestSigstore();
});

describe('attestations', () => {
  it.each(['intoto', 'dsse'] as const)('with a Rekor %s entry verify, with SET and with inclusion proof', (rekorKind) => {
    const layer = sigstore.attestImage({ digest, predicateType, predicate, identity: { email: 'ci@example.test' }, rekorKind });
    expect(layer.details.rekorEntry.kind).toBe(rekorKind);
    const signer = verifyLayer(layer, { trustedRoot: sigstore.trustedRoot });
    expect(signer.identity?.subjectAlternativeName).toBe('ci@example.test');
    const proof = sigstore.rekor.inclusionProof(layer.details.rekorEntry);
    expect(verificationOutcome(layer, { trustedRoot: sigstore.trustedRoot, inclusionProof: proof })).toBe('OK');
  });

  it('the envelope carries an in-toto statement whose subject is the image digest', () => {
    const layer = sigstore.attestImage({ digest, predicateType, predicate, repository: 'registry.example.test/team/app' });
    const envelope = JSON.parse(layer.payload.toString());
    expect(Object.keys(envelope)).toEqual(['payloadType', 'payload', 'signatures']);
    expect(envelope.signatures).toEqual([{ keyid: '', sig: expect.any(String) }]);
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString());
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType,
      subject: [{ name: 'registry.example.test/team/app', digest: { sha256: 'ef'.repeat(32) } }],
      predicate,
    });
    expect(layer.annotations.predicateType).toBe(predicateType);
    expect(layer.annotations[COSIGN_ANNOTATIONS.signature]).toBeUndefined();
    const manifest = JSON.parse(buildSignatureManifest([layer]).manifest.toString());
    expect(manifest.layers[0].mediaType).toBe('application/vnd.dsse.envelope.v1+json');
  });

  it.each([
    ['tampered-payload', /^TLOG_BODY_ERROR: DSSE payload hash mismatch/],
    ['set-unknown-key', /^TLOG_INCLUSION_PROMISE_ERROR/],
    ['subject-other-digest', /^OK$/], // the statement's subject is the project's check
  ] as const)('defect %s → %s', (defect, outcome) => {
    const layer = sigstore.attestImage({ digest, predicateType, predicate, defect });
    expect(verificationOutcome(layer, { trustedRoot: sigstore.trustedRoot })).toMatch(outcome);
  });
});
