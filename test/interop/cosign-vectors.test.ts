/**
 * Every real cosign signature in ../shared/interop/cosign-oci/vectors.json verifies offline
 * against the production trusted root with its expected identity and issuer, and fails with
 * another identity, another issuer, or another digest.
 */
import { parseReference } from '../../src/reference';
import { compilePolicy } from '../../src/policy/policy';
import { publicGoodTrustRoot } from '../../src/trust/embedded';
import { trustRootFromFile } from '../../src/trust/trusted-root';
import { policyChecks } from '../../src/verify/policy-checks';
import { verifyLegacySignatureLayer } from '../support/verify';
import {
  artifactAnnotations,
  describeInterop,
  interopPath,
  PROD_TRUSTED_ROOT,
  readInteropJSON,
  type CosignArtifact,
  type CosignVector,
} from '../support/interop';

describeInterop('real cosign legacy signatures (vectors.json)', () => {
  const vectors = readInteropJSON<CosignVector[]>('cosign-oci', 'vectors.json');
  const trust = trustRootFromFile(interopPath(...PROD_TRUSTED_ROOT));

  test('there are 17 vectors, one of them by the Kubernetes release identity', () => {
    expect(vectors).toHaveLength(17);
    expect(vectors.filter((v) => v.identity === 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com')).toHaveLength(1);
  });

  function run(v: CosignVector, policy: Parameters<typeof compilePolicy>[0], digest = parseReference(v.image).digest!) {
    const artifact = readInteropJSON<CosignArtifact>(v.artifact);
    return verifyLegacySignatureLayer(Buffer.from(artifact.payload, 'utf8'), artifactAnnotations(artifact), digest, policyChecks(trust, compilePolicy(policy)));
  }

  describe.each(vectors.map((v) => [v.artifact, v] as const))('%s', (_name, v) => {
    test('verifies with its identity and issuer', () => {
      const result = run(v, { subject: v.identity, issuer: v.issuer });
      expect(result.failure).toBeUndefined();
      expect(result.verified).toBe(true);
      expect(result.signer?.subject).toBe(v.identity);
      expect(result.signer?.issuer).toBe(v.issuer);
      expect(result.tlog?.logIndex).toBe(v.rekor_logIndex);
      expect(result.tlog?.integratedTime).toBe(new Date(v.integratedTime).toISOString());
      expect(result.signedDigest).toBe(parseReference(v.image).digest);
    });

    test('fails with another identity', () => {
      const result = run(v, { subject: 'someone-else@example.com', issuer: v.issuer });
      expect(result.verified).toBe(false);
      expect(result.failure?.code).toBe('IDENTITY_MISMATCH');
    });

    test('fails with another issuer', () => {
      const result = run(v, { subject: v.identity, issuer: 'https://issuer.example.com' });
      expect(result.verified).toBe(false);
      expect(result.failure?.code).toBe('ISSUER_MISMATCH');
    });

    test('fails for another image digest', () => {
      const result = run(v, { subject: v.identity, issuer: v.issuer }, `sha256:${'0'.repeat(64)}`);
      expect(result.verified).toBe(false);
      expect(result.failure?.code).toBe('PAYLOAD_DIGEST_MISMATCH');
    });
  });

  test('the embedded public-good root verifies them too', () => {
    const v = vectors.find((x) => x.identity.startsWith('krel-trust@'))!;
    const artifact = readInteropJSON<CosignArtifact>(v.artifact);
    const result = verifyLegacySignatureLayer(
      Buffer.from(artifact.payload),
      artifactAnnotations(artifact),
      parseReference(v.image).digest!,
      policyChecks(publicGoodTrustRoot(), compilePolicy({ subject: v.identity, issuer: v.issuer })),
    );
    expect(result.verified).toBe(true);
  });

  test('regexp identities follow cosign (RE2, unanchored search)', () => {
    const v = vectors.find((x) => x.identity.startsWith('krel-trust@'))!;
    expect(run(v, { subjectRegExp: '^krel-trust@k8s-releng-prod\\.iam\\.gserviceaccount\\.com$', issuerRegExp: 'accounts\\.google' }).verified).toBe(true);
    expect(run(v, { subjectRegExp: '@k8s-releng-prod\\.', issuer: v.issuer }).verified).toBe(true);
    expect(run(v, { subjectRegExp: '^releng', issuer: v.issuer }).failure?.code).toBe('IDENTITY_MISMATCH');
  });
});
