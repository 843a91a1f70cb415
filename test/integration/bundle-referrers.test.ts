/**
 * Real Sigstore bundles attached to an image as OCI 1.1 referrers in a local registry (via the
 * referrers tag schema, as cosign does on registries without the referrers API) and verified
 * by image reference:
 *   - cosign's own `oci-attestation.sigstore.json` (a production v0.3 DSSE bundle about an
 *     OCI image) through the built CLI's verify-attestation;
 *   - a staging Rekor v2 bundle (hashedrekord over DSSE, RFC 3161 timestamp, Ed25519
 *     checkpoint) through the library, so Rekor v2 entries are exercised on the image path.
 * Neither image manifest exists here; a digest reference needs only the digest, as in cosign.
 * Reads fixtures/ (the bundles and trusted roots, copied from ../shared/interop).
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from '@sigstore/core';
import { createVerifier } from '../../src';
import { certificateIdentity } from '../../src/policy/certificate-identity';
import { runBuiltCli } from '../support/cli';
import { FIXTURE, fixturePath } from '../support/fixtures';
import { pushBundleReferrers } from '../support/referrers';
import { closePushers, startRegistry, type RunningRegistry } from '../support/registry';

describe('real bundles as OCI referrers, verified by image reference', () => {
  let registry: RunningRegistry;
  const COSIGN_DIGEST = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
  const REKOR2_DIGEST = 'sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf';
  const subject = (digest: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1234 });
  const bundle = (...parts: string[]) => JSON.parse(readFileSync(fixturePath('bundles', ...parts), 'utf8')) as Record<string, unknown>;

  beforeAll(async () => {
    registry = await startRegistry();
    await pushBundleReferrers(registry, 'cosign/repo', subject(COSIGN_DIGEST), [bundle('cosign', 'oci-attestation.sigstore.json')]);
    await pushBundleReferrers(registry, 'python/a', subject(REKOR2_DIGEST), [bundle('sigstore-python', 'a.dsse.staging-rekor-v2.txt.sigstore.json')]);
  });
  afterAll(async () => {
    await closePushers();
    await registry?.stop();
  });

  const cosignArgs = (identity: string) => [
    'verify-attestation',
    `${registry.host}/cosign/repo@${COSIGN_DIGEST}`,
    '--type',
    'custom',
    '--certificate-identity',
    identity,
    '--certificate-oidc-issuer',
    'https://github.com/login/oauth',
    '--trusted-root',
    fixturePath('bundles', 'cosign', 'trusted_root_pgi.json'),
    '--output',
    'json',
  ];

  test("cosign's oci-attestation.sigstore.json verifies as the image's attestation, statement returned", async () => {
    const r = await runBuiltCli(cosignArgs('cody@soyland.com'));
    const [result] = JSON.parse(r.stdout);
    expect(result.error).toBeUndefined();
    expect(result.verified).toBe(true);
    expect(result.attestations).toHaveLength(1);
    expect(result.attestations[0].predicateType).toBe('https://cosign.sigstore.dev/attestation/v1');
    expect(result.attestations[0].statement.predicate).toEqual({ Data: '{"foo": "bar"}\n', Timestamp: '2025-02-28T19:18:11Z' });
    expect(result.attestations[0].signature).toMatchObject({ source: 'referrer', signer: { subject: 'cody@soyland.com' } });
    expect(r.code).toBe(0);
  });

  test('and fails with another identity (exit 1)', async () => {
    const r = await runBuiltCli(cosignArgs('someone@example.com'));
    expect(JSON.parse(r.stdout)[0].error.code).toBe('IDENTITY_MISMATCH');
    expect(r.code).toBe(1);
  });

  test('a Rekor v2 bundle (staging) verifies on the image path', async () => {
    const verifier = createVerifier({ trustedRoot: fixturePath(...FIXTURE.stagingTrustedRoot) });
    try {
      const json = bundle('sigstore-python', 'a.dsse.staging-rekor-v2.txt.sigstore.json') as { verificationMaterial: { certificate: { rawBytes: string } } };
      const id = certificateIdentity(X509Certificate.parse(Buffer.from(json.verificationMaterial.certificate.rawBytes, 'base64')));
      const result = await verifier.verifyAttestations(
        `${registry.host}/python/a@${REKOR2_DIGEST}`,
        {
          subject: id.subjectAlternativeNames[0]!.value,
          issuer: id.issuer!,
        },
        { predicateType: 'slsaprovenance1' },
      );
      expect(result.error).toBeUndefined();
      expect(result.verified).toBe(true);
      expect(result.attestations[0]!.signature.tlog?.integratedTime).toBeUndefined();
    } finally {
      await verifier.close();
    }
  });
});
