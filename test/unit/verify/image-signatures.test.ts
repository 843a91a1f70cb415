/**
 * The verdict on one image from what discovery found (src/verify/image-signatures.ts), without a
 * registry: `.sig`/`.att` layers and v3 referrer bundles minted by the test Sigstore, handed in
 * as the discovery modules hand them over (digest-checked blobs, or the failure to fetch one).
 */
import { createHash } from 'node:crypto';
import type { LegacyArtifacts, LegacyLayer } from '../../../src/cosign/discover-legacy';
import type { ReferrerBundle } from '../../../src/cosign/discover-referrers';
import { ImgverifyError } from '../../../src/errors';
import { compileCondition } from '../../../src/policy/cel';
import { compilePolicy, type VerificationPolicy } from '../../../src/policy/policy';
import { trustRootFromJSON } from '../../../src/trust/trusted-root';
import { judgeAttestations, judgeSignatures, type Discovered, type ImageVerdict } from '../../../src/verify/image-signatures';
import { policyChecks, type PolicyChecks } from '../../../src/verify/policy-checks';
import type { SignatureResult } from '../../../src/verify/types';
import { COSIGN_SIGN_V1, signImageV3 } from '../../support/referrers';
import { DEFAULT_ISSUER, createTestSigstore, type CosignLayer, type TestSigstore } from '../../support/sigstore';

const SIGNER = 'release@example.test';
const OTHER = 'someone@example.test';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const REPO = 'registry.example.test/app';
const SLSA = 'https://slsa.dev/provenance/v1';
const NONE = `no signatures found for ${REPO}@${DIGEST}`;

const sigstore: TestSigstore = createTestSigstore();
const trust = trustRootFromJSON(sigstore.trustedRoot, 'test sigstore');

function checks(policy: VerificationPolicy = { subject: SIGNER, issuer: DEFAULT_ISSUER }): PolicyChecks {
  return policyChecks(trust, compilePolicy(policy));
}
const CTX = checks();

/** A layer as discovery hands it over: its descriptor, and the digest-checked blob or why there is none. */
function layer(index: number, cosign: CosignLayer, error?: ImgverifyError): LegacyLayer {
  const descriptor = {
    mediaType: cosign.mediaType,
    digest: `sha256:${createHash('sha256').update(cosign.payload).digest('hex')}`,
    size: cosign.payload.length,
    annotations: cosign.annotations,
  };
  return error ? { index, descriptor, error } : { index, descriptor, payload: cosign.payload };
}

function legacy(suffix: 'sig' | 'att', ...layers: LegacyLayer[]): LegacyArtifacts {
  return { location: `${REPO}:${DIGEST.replace(':', '-')}.${suffix}`, layers };
}

function referrer(n: number, bundle: unknown, error?: ImgverifyError): ReferrerBundle {
  const bytes = Buffer.from(JSON.stringify(bundle));
  const descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${String(n).repeat(64)}`, size: 1000, annotations: {} };
  const where = { location: `${REPO}@${descriptor.digest}`, descriptor, listing: 'referrers-api' as const, shape: 'artifact' as const };
  return error ? { ...where, error } : { ...where, bundle: bytes };
}

function found(legacyArtifacts: LegacyArtifacts | null, ...referrers: ReferrerBundle[]): Discovered {
  return { legacy: legacyArtifacts, referrers };
}

const signed = (email = SIGNER): CosignLayer => sigstore.signImage({ digest: DIGEST, dockerReference: REPO, identity: { email } });
const attested = (predicateType = SLSA, predicate: unknown = { buildType: 'test' }): CosignLayer =>
  sigstore.attestImage({ digest: DIGEST, repository: REPO, predicateType, predicate, identity: { email: SIGNER }, issuer: DEFAULT_ISSUER });
const v3 = (predicateType = COSIGN_SIGN_V1, predicate: unknown = {}): unknown =>
  signImageV3(sigstore, { digest: DIGEST, repository: REPO, predicateType, predicate, identity: { email: SIGNER }, issuer: DEFAULT_ISSUER });

/** Each signature's outcome: `ok`, or its failure code. */
function outcomes(verdict: ImageVerdict): string[] {
  return verdict.signatures.map((s: SignatureResult) => ('failure' in s && s.failure ? s.failure.code : s.verified ? 'ok' : 'failed without a failure'));
}

function errorOf(verdict: ImageVerdict): ImgverifyError | undefined {
  return 'error' in verdict ? verdict.error : undefined;
}

const unreachable = (): ImgverifyError => new ImgverifyError('REGISTRY_UNREACHABLE', 'GET blob: connection refused');

describe('judgeSignatures', () => {
  test('one valid .sig layer: verified, naming where it was found and who signed', () => {
    const verdict = judgeSignatures(DIGEST, found(legacy('sig', layer(0, signed()))), CTX, NONE);
    expect(verdict.verified).toBe(true);
    expect(errorOf(verdict)).toBeUndefined();
    expect(verdict.signatures).toEqual([
      expect.objectContaining({
        source: 'sig-tag',
        location: `${REPO}:${DIGEST.replace(':', '-')}.sig layer 0`,
        verified: true,
        signedDigest: DIGEST,
        dockerReference: REPO,
      }),
    ]);
    expect(JSON.stringify(verdict.signatures[0])).toContain(SIGNER);
  });

  test("nothing found: NO_SIGNATURES with the caller's description", () => {
    for (const nothing of [found(null), found(legacy('sig'))]) {
      const verdict = judgeSignatures(DIGEST, nothing, CTX, NONE);
      expect({ verified: verdict.verified, signatures: verdict.signatures, code: errorOf(verdict)?.code, message: errorOf(verdict)?.message }).toEqual({
        verified: false,
        signatures: [],
        code: 'NO_SIGNATURES',
        message: NONE,
      });
    }
  });

  test('one passing signature is enough, whatever the others are', () => {
    const verdict = judgeSignatures(DIGEST, found(legacy('sig', layer(0, signed(OTHER)), layer(1, signed(), unreachable()), layer(2, signed()))), CTX, NONE);
    expect(verdict.verified).toBe(true);
    expect(outcomes(verdict)).toEqual(['IDENTITY_MISMATCH', 'REGISTRY_UNREACHABLE', 'ok']);
  });

  test('a listed signature that could not be fetched makes the verdict operational, never a definite failure', () => {
    const verdict = judgeSignatures(DIGEST, found(legacy('sig', layer(0, signed(OTHER)), layer(1, signed(), unreachable()))), CTX, NONE);
    expect(verdict.verified).toBe(false);
    const error = errorOf(verdict)!;
    expect(error.code).toBe('REGISTRY_UNREACHABLE');
    expect(error.category).toBe('operational');
    expect(error.message).toBe(
      `${REPO}:${DIGEST.replace(':', '-')}.sig layer 1 is listed but could not be fetched: GET blob: connection refused (1 other signature did not verify)`,
    );
    expect(error.details).toEqual({
      location: `${REPO}:${DIGEST.replace(':', '-')}.sig layer 1`,
      unavailable: [`${REPO}:${DIGEST.replace(':', '-')}.sig layer 1`],
    });
    const alone = judgeSignatures(DIGEST, found(legacy('sig', layer(0, signed(), unreachable()))), CTX, NONE);
    expect(errorOf(alone)?.message).toMatch(/could not be fetched: GET blob: connection refused$/);
  });

  test('a layer of another media type, without payload, or that does not decode fails that signature, not the call', () => {
    const good = signed();
    const attestation = attested();
    const noPayload: LegacyLayer = { index: 1, descriptor: layer(1, good).descriptor };
    const undecodable = layer(2, { ...good, annotations: {} });
    const verdict = judgeSignatures(DIGEST, found(legacy('sig', layer(0, attestation), noPayload, undecodable)), CTX, NONE);
    expect(verdict.verified).toBe(false);
    expect(outcomes(verdict)).toEqual(['SIGNATURE_MALFORMED', 'INTERNAL_ERROR', expect.any(String)]);
    expect(verdict.signatures[0]).toMatchObject({ failure: { message: expect.stringContaining(`layer media type ${attestation.mediaType} is not`) } });
    expect(outcomes(verdict)[2]).not.toBe('ok');
    expect(errorOf(verdict)?.code).toBe('NO_MATCHING_SIGNATURES');
  });

  test("every signature failing the same check: that code, with each signature's reason", () => {
    const one = judgeSignatures(DIGEST, found(legacy('sig', layer(0, signed(OTHER)))), CTX, NONE);
    expect(errorOf(one)?.code).toBe('IDENTITY_MISMATCH');
    expect(errorOf(one)?.message).toBe(('failure' in one.signatures[0]! && one.signatures[0].failure?.message) || 'no failure');
    const two = judgeSignatures(DIGEST, found(legacy('sig', layer(0, signed(OTHER)), layer(1, signed(OTHER)))), CTX, NONE);
    expect(errorOf(two)?.code).toBe('IDENTITY_MISMATCH');
    expect(errorOf(two)?.message).toMatch(/^all 2 signatures failed: .*\.sig layer 0: .*; .*\.sig layer 1: /);
    expect(errorOf(two)?.details).toEqual({ policy: compilePolicy({ subject: SIGNER, issuer: DEFAULT_ISSUER }).description });
  });

  test('signatures failing different checks: NO_MATCHING_SIGNATURES, naming the policy and each reason', () => {
    const tampered = sigstore.signImage({ digest: DIGEST, dockerReference: REPO, identity: { email: SIGNER }, defect: 'payload-other-digest' });
    const verdict = judgeSignatures(DIGEST, found(legacy('sig', layer(0, signed(OTHER)), layer(1, tampered))), CTX, NONE);
    const [identity, binding] = outcomes(verdict);
    expect(identity).toBe('IDENTITY_MISMATCH');
    expect(binding).not.toBe(identity);
    const error = errorOf(verdict)!;
    expect(error.code).toBe('NO_MATCHING_SIGNATURES');
    expect(error.message).toContain('none of 2 signatures passed every check and the policy (');
    expect(error.message).toContain('.sig layer 0: ');
    expect(error.message).toContain('.sig layer 1: ');
  });

  test('v3 referrers: a signature bundle counts, a verified attestation bundle is left out, an unverified one is reported', () => {
    const signature = judgeSignatures(DIGEST, found(null, referrer(1, v3())), CTX, NONE);
    expect(signature.verified).toBe(true);
    expect(signature.signatures).toEqual([
      expect.objectContaining({ source: 'referrer', verified: true, referrer: { listing: 'referrers-api', shape: 'artifact' } }),
    ]);

    const attestationOnly = judgeSignatures(DIGEST, found(null, referrer(2, v3(SLSA, { buildType: 'test' }))), CTX, NONE);
    expect({ verified: attestationOnly.verified, signatures: attestationOnly.signatures, code: errorOf(attestationOnly)?.code }).toEqual({
      verified: false,
      signatures: [],
      code: 'NO_SIGNATURES',
    });

    const otherSigner = signImageV3(sigstore, {
      digest: DIGEST,
      repository: REPO,
      predicateType: SLSA,
      predicate: {},
      identity: { email: OTHER },
      issuer: DEFAULT_ISSUER,
    });
    const unverified = judgeSignatures(DIGEST, found(null, referrer(3, otherSigner)), CTX, NONE);
    expect(outcomes(unverified)).toEqual(['IDENTITY_MISMATCH']);
  });

  test('a referrer that discovery refused, or that has no bundle, fails as that signature', () => {
    const refused = new ImgverifyError('MALFORMED_CONTENT', 'referrer: subject is another image');
    const { bundle: _bundle, ...empty } = referrer(5, v3());
    const verdict = judgeSignatures(DIGEST, found(null, referrer(4, v3(), refused), empty), CTX, NONE);
    expect(outcomes(verdict)).toEqual(['MALFORMED_CONTENT', 'INTERNAL_ERROR']);
    expect(verdict.verified).toBe(false);
  });

  test('legacy and referrer signatures are judged together, legacy first', () => {
    const verdict = judgeSignatures(DIGEST, found(legacy('sig', layer(0, signed(OTHER))), referrer(6, v3())), CTX, NONE);
    expect(verdict.verified).toBe(true);
    expect(verdict.signatures.map((s) => s.source)).toEqual(['sig-tag', 'referrer']);
  });
});

describe('judgeAttestations', () => {
  test('a valid .att layer: verified, with its statement', async () => {
    const verdict = await judgeAttestations(DIGEST, found(legacy('att', layer(0, attested()))), CTX, SLSA, NONE);
    expect(verdict.verified).toBe(true);
    expect(verdict.attestations).toEqual([
      { predicateType: SLSA, statement: expect.objectContaining({ predicateType: SLSA, predicate: { buildType: 'test' } }), signature: verdict.signatures[0] },
    ]);
  });

  test('a statement of another predicate type than the one wanted: PREDICATE_TYPE_MISMATCH; none wanted: any', async () => {
    const mismatch = await judgeAttestations(DIGEST, found(legacy('att', layer(0, attested('https://example.test/other')))), CTX, SLSA, NONE);
    expect(outcomes(mismatch)).toEqual(['PREDICATE_TYPE_MISMATCH']);
    expect(errorOf(mismatch)?.message).toBe(`attestation has predicate type https://example.test/other, not ${SLSA}`);
    expect(mismatch.attestations).toEqual([]);
    const any = await judgeAttestations(DIGEST, found(legacy('att', layer(0, attested('https://example.test/other')))), CTX, undefined, NONE);
    expect(any.verified).toBe(true);
  });

  test('conditions: all must hold; the first that does not names itself', async () => {
    const holds = compileCondition('predicate.buildType == "test"', 'policy.cel', 1);
    const fails = compileCondition('predicate.buildType == "release"', 'policy.cel', 2);
    const ok = await judgeAttestations(DIGEST, found(legacy('att', layer(0, attested()))), CTX, SLSA, NONE, [holds]);
    expect(ok.verified).toBe(true);
    const refused = await judgeAttestations(DIGEST, found(legacy('att', layer(0, attested()))), CTX, SLSA, NONE, [holds, fails]);
    expect(outcomes(refused)).toEqual(['ATTESTATION_CONDITION_FAILED']);
    expect(refused.signatures[0]).toMatchObject({ failure: { details: { condition: fails.origin, predicateType: SLSA } } });
    expect(refused.attestations).toEqual([]);
  });

  test('v3 referrers: an attestation bundle counts, a verified signature bundle is left out', async () => {
    const verdict = await judgeAttestations(DIGEST, found(null, referrer(1, v3()), referrer(2, v3(SLSA, { buildType: 'test' }))), CTX, SLSA, NONE);
    expect(verdict.verified).toBe(true);
    expect(verdict.signatures).toHaveLength(1);
    expect(verdict.attestations.map((a) => a.predicateType)).toEqual([SLSA]);
  });

  test('a .sig layer where an attestation is expected fails on its media type; an unverified envelope is not judged further', async () => {
    const verdict = await judgeAttestations(
      DIGEST,
      found(
        legacy(
          'att',
          layer(0, signed()),
          layer(1, sigstore.attestImage({ digest: DIGEST, repository: REPO, predicateType: SLSA, predicate: {}, identity: { email: OTHER } })),
        ),
      ),
      CTX,
      'https://example.test/other',
      NONE,
    );
    expect(outcomes(verdict)).toEqual(['SIGNATURE_MALFORMED', 'IDENTITY_MISMATCH']);
    expect(verdict.attestations).toEqual([]);
  });

  test('once the signal has aborted, its reason is thrown before the next condition', async () => {
    const controller = new AbortController();
    const reason = new ImgverifyError('REGISTRY_TIMEOUT', 'the verification deadline passed');
    controller.abort(reason);
    const condition = compileCondition('true', 'policy.cel');
    await expect(
      judgeAttestations(DIGEST, found(legacy('att', layer(0, attested()))), CTX, SLSA, NONE, [condition], { signal: controller.signal }),
    ).rejects.toBe(reason);
  });

  test('long condition runs give the event loop a turn between conditions', async () => {
    // Each reading of the clock 30 ms after the last: every condition starts a new slice.
    let now = 0;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => (now += 30));
    try {
      let turns = 0;
      const tick = (): void => {
        turns++;
        if (turns < 100) setImmediate(tick);
      };
      setImmediate(tick);
      const conditions = [1, 2, 3].map((n) => compileCondition('true', `policy-${n}.cel`));
      const verdict = await judgeAttestations(DIGEST, found(legacy('att', layer(0, attested()))), CTX, SLSA, NONE, conditions);
      expect(verdict.verified).toBe(true);
      // Without the pauses the whole call would complete in microtasks, before any setImmediate.
      expect(turns).toBeGreaterThanOrEqual(3);
    } finally {
      clock.mockRestore();
    }
  });
});
