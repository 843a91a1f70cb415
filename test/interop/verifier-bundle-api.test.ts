/** The library entry for bundles: `verifier.verifyBundle(bundle, artifact, policy)`. */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createVerifier, type ImgverifyError } from '../../src';
import { describeInterop, interopPath, PROD_TRUSTED_ROOT } from '../support/interop';

describeInterop('ImageVerifier.verifyBundle', () => {
  const bundle = JSON.parse(readFileSync(interopPath('bundles', 'sigstore-python', 'bundle_v3_github.whl.sigstore'), 'utf8'));
  const wheel = readFileSync(interopPath('bundles', 'sigstore-python', 'bundle_v3_github.whl'));
  const verifier = createVerifier({ trustedRoot: interopPath(...PROD_TRUSTED_ROOT) });
  const policy = { subjectRegExp: '^https://github\\.com/trailofbits/rfc8785\\.py/', issuer: 'https://token.actions.githubusercontent.com' };
  afterAll(() => verifier.close());

  test('verifies by file and by digest', () => {
    expect(verifier.verifyBundle(bundle, { bytes: wheel }, policy).signer.issuer).toBe('https://token.actions.githubusercontent.com');
    const sha256 = createHash('sha256').update(wheel).digest('hex');
    expect(verifier.verifyBundle(bundle, { sha256 }, policy).content).toEqual({ kind: 'message-signature', sha256 });
  });

  test('throws a coded error for another identity and for another artifact', () => {
    expect(() => verifier.verifyBundle(bundle, { bytes: wheel }, { subject: 'x@y.z', issuer: 'https://token.actions.githubusercontent.com' })).toThrow(
      expect.objectContaining({ code: 'IDENTITY_MISMATCH' }) as ImgverifyError,
    );
    expect(() => verifier.verifyBundle(bundle, { bytes: Buffer.from('other') }, policy)).toThrow(expect.objectContaining({ code: 'DIGEST_MISMATCH' }) as ImgverifyError);
  });
});
