/** The library entry for bundles: `verifier.verifyBundle(bundle, artifact, policy)`, on real bundles in fixtures/. */
import { createHash } from 'node:crypto';
import { createVerifier, ImgverifyError } from '../../src';
import { FIXTURE, fixturePath, readFixture, readFixtureJSON } from '../support/fixtures';
import { verified } from '../support/verify';

describe('ImageVerifier.verifyBundle', () => {
  const bundle = readFixtureJSON<Record<string, unknown>>('bundles', 'sigstore-python', 'bundle_v3_github.whl.sigstore');
  const wheel = readFixture('bundles', 'sigstore-python', 'bundle_v3_github.whl');
  const verifier = createVerifier({ trustedRoot: fixturePath(...FIXTURE.prodTrustedRoot) });
  const policy = { subjectRegExp: '^https://github\\.com/trailofbits/rfc8785\\.py/', issuer: 'https://token.actions.githubusercontent.com' };
  afterAll(() => verifier.close());

  test('verifies by file and by digest', () => {
    expect(verified(verifier.verifyBundle(bundle, { bytes: wheel }, policy)).signer.issuer).toBe('https://token.actions.githubusercontent.com');
    const sha256 = createHash('sha256').update(wheel).digest('hex');
    expect(verified(verifier.verifyBundle(bundle, { sha256 }, policy)).content).toEqual({ kind: 'message-signature', digest: `sha256:${sha256}` });
  });

  test('throws a coded error for another identity and for another artifact', () => {
    expect(() =>
      verified(verifier.verifyBundle(bundle, { bytes: wheel }, { subject: 'x@y.z', issuer: 'https://token.actions.githubusercontent.com' })),
    ).toThrow(expect.objectContaining({ code: 'IDENTITY_MISMATCH' }) as ImgverifyError);
    expect(() => verified(verifier.verifyBundle(bundle, { bytes: Buffer.from('other') }, policy))).toThrow(
      expect.objectContaining({ code: 'DIGEST_MISMATCH' }) as ImgverifyError,
    );
  });
});

describe('ImageVerifier.verifyBundle on a Rekor v2 bundle (staging: hashedrekord 0.0.2, RFC 3161 timestamp)', () => {
  const bundle = readFixtureJSON<Record<string, unknown>>('bundles', 'sigstore-python', 'staging-rekor-v2.txt.sigstore.json');
  const artifact = readFixture('bundles', 'sigstore-python', 'staging-rekor-v2.txt');
  const verifier = createVerifier({ trustedRoot: fixturePath(...FIXTURE.stagingTrustedRoot) });
  const policy = { subject: 'jku@goto.fi', issuer: 'https://github.com/login/oauth' };
  afterAll(() => verifier.close());

  test('verifies its artifact by file and by digest', () => {
    const byFile = verified(verifier.verifyBundle(bundle, { bytes: artifact }, policy));
    expect(byFile.signer).toMatchObject({ subject: 'jku@goto.fi', issuer: 'https://github.com/login/oauth' });
    const sha256 = createHash('sha256').update(artifact).digest('hex');
    expect(verified(verifier.verifyBundle(bundle, { sha256 }, policy)).content).toEqual({ kind: 'message-signature', digest: `sha256:${sha256}` });
  });

  test('fails for another artifact, another identity, and against the production root', async () => {
    expect(() => verified(verifier.verifyBundle(bundle, { bytes: Buffer.from('other') }, policy))).toThrow(
      expect.objectContaining({ code: 'DIGEST_MISMATCH' }) as ImgverifyError,
    );
    expect(() => verified(verifier.verifyBundle(bundle, { bytes: artifact }, { ...policy, subject: 'someone@example.com' }))).toThrow(
      expect.objectContaining({ code: 'IDENTITY_MISMATCH' }) as ImgverifyError,
    );
    // Staging's TSA, Fulcio and Rekor v2 key are not in the production root: no check of this bundle can pass there.
    const production = createVerifier({ trustedRoot: fixturePath(...FIXTURE.prodTrustedRoot) });
    try {
      expect(() => verified(production.verifyBundle(bundle, { bytes: artifact }, policy))).toThrow(ImgverifyError);
    } finally {
      await production.close();
    }
  });
});
