/**
 * cosign legacy attestations (`.att` tag, DSSE envelopes with in-toto statements) against a
 * real registry: predicate-type filtering, statements returned, and a negative per check.
 */
import { createHash } from 'node:crypto';
import type { ImageVerifier } from '../../src';
import type { RunningRegistry } from '../support/registry';
import { startVerificationEnvironment, type VerificationEnvironment } from '../support/environment';
import { pushAttestations, pushTestImage } from '../support/signed-images';
import { COSIGN_ANNOTATIONS, type AttestationDefect, type TestSigstore } from '../support/sigstore';
import type { Json } from '../support/json';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const POLICY = { subject: SIGNER, issuer: ISSUER };
const SLSA02 = 'https://slsa.dev/provenance/v0.2';
const VULN = 'https://cosign.sigstore.dev/attestation/vuln/v1';

let registry: RunningRegistry;
let sigstore: TestSigstore;
let verifier: ImageVerifier;
let n = 0;

let env: VerificationEnvironment | undefined;
beforeAll(async () => {
  env = await startVerificationEnvironment();
  ({ registry, sigstore, verifier } = env);
});
afterAll(() => env?.stop());

async function attested(specs: Array<{ predicateType: string; defect?: AttestationDefect; rekorKind?: 'intoto' | 'dsse'; identity?: string }>) {
  const repo = `att/app-${++n}`;
  const image = await pushTestImage(registry, repo, 'v1');
  const layers = specs.map((s) =>
    sigstore.attestImage({
      digest: image.digest,
      repository: `${registry.host}/${repo}`,
      predicateType: s.predicateType,
      predicate: { builder: { id: `builder-${s.predicateType}` } },
      identity: { email: s.identity ?? SIGNER },
      issuer: ISSUER,
      ...(s.rekorKind ? { rekorKind: s.rekorKind } : {}),
      ...(s.defect ? { defect: s.defect } : {}),
    }),
  );
  await pushAttestations(registry, repo, image.digest, layers);
  return { ref: `${registry.host}/${repo}:v1`, image, repo, layers };
}

test.each([['intoto' as const], ['dsse' as const]])('verifies an attestation logged as %s and returns its statement', async (rekorKind) => {
  const { ref, image } = await attested([{ predicateType: SLSA02, rekorKind }]);
  const result = await verifier.verifyAttestations(ref, POLICY, { predicateType: 'slsaprovenance' });
  expect(result.error).toBeUndefined();
  expect(result.verified).toBe(true);
  expect(result.digest).toBe(image.digest);
  expect(result.attestations).toHaveLength(1);
  const [att] = result.attestations;
  expect(att!.predicateType).toBe(SLSA02);
  expect(att!.statement).toMatchObject({ predicateType: SLSA02, predicate: { builder: { id: `builder-${SLSA02}` } } });
  expect((att!.statement.subject as Array<{ digest: { sha256: string } }>)[0]!.digest.sha256).toBe(image.digest.slice(7));
  expect(att!.signature.signer).toMatchObject({ subject: SIGNER, issuer: ISSUER });
});

test('filters by predicate type: only matching statements count', async () => {
  const { ref } = await attested([{ predicateType: VULN }, { predicateType: SLSA02 }]);
  const slsa = await verifier.verifyAttestations(ref, POLICY, { predicateType: SLSA02 });
  expect(slsa.verified).toBe(true);
  expect(slsa.attestations.map((a) => a.predicateType)).toEqual([SLSA02]);
  expect(slsa.signatures[0]!.failure?.code).toBe('PREDICATE_TYPE_MISMATCH');
  const all = await verifier.verifyAttestations(ref, POLICY);
  expect(all.attestations.map((a) => a.predicateType).sort()).toEqual([VULN, SLSA02].sort());
});

test('wrong predicate type → PREDICATE_TYPE_MISMATCH', async () => {
  const { ref } = await attested([{ predicateType: VULN }]);
  const result = await verifier.verifyAttestations(ref, POLICY, { predicateType: 'spdxjson' });
  expect(result.verified).toBe(false);
  expect(result.error?.code).toBe('PREDICATE_TYPE_MISMATCH');
  expect(result.error?.message).toContain('https://spdx.dev/Document');
  expect(result.attestations).toEqual([]);
});

test('unknown predicate type name → INVALID_POLICY', async () => {
  await expect(verifier.verifyAttestations('x/y', POLICY, { predicateType: 'not a type' })).rejects.toMatchObject({ code: 'INVALID_POLICY' });
});

test.each<[AttestationDefect, string]>([
  ['tampered-payload', 'TLOG_BODY_MISMATCH'],
  ['subject-other-digest', 'PAYLOAD_DIGEST_MISMATCH'],
  ['set-unknown-key', 'TLOG_INCLUSION_PROMISE_INVALID'],
])('%s → %s', async (defect, code) => {
  const { ref } = await attested([{ predicateType: SLSA02, defect }]);
  const result = await verifier.verifyAttestations(ref, POLICY, { predicateType: SLSA02 });
  expect(result.verified).toBe(false);
  expect(result.error?.code).toBe(code);
  expect(result.attestations).toEqual([]);
});

test('an envelope signature other than the logged one → TLOG_BODY_MISMATCH', async () => {
  const { repo, image, layers } = await attested([{ predicateType: SLSA02, rekorKind: 'dsse' }]);
  const envelope = JSON.parse(layers[0]!.payload.toString());
  const other = sigstore.attestImage({ digest: image.digest, predicateType: SLSA02, predicate: {}, identity: { email: SIGNER }, issuer: ISSUER });
  envelope.signatures[0].sig = JSON.parse(other.payload.toString()).signatures[0].sig;
  const broken = { ...layers[0]!, payload: Buffer.from(JSON.stringify(envelope)) };
  await pushAttestations(registry, repo, image.digest, [broken]);
  const result = await verifier.verifyAttestations(`${registry.host}/${repo}:v1`, POLICY);
  expect(result.verified).toBe(false);
  // The logged signature differs from the envelope's, so the body check fails first.
  expect(result.error?.code).toBe('TLOG_BODY_MISMATCH');
});

test('another identity → IDENTITY_MISMATCH', async () => {
  const { ref } = await attested([{ predicateType: SLSA02, identity: 'eve@example.test' }]);
  const result = await verifier.verifyAttestations(ref, POLICY);
  expect(result.error?.code).toBe('IDENTITY_MISMATCH');
});

test('an image without attestations → NO_SIGNATURES naming the .att tag', async () => {
  const repo = `att/none-${++n}`;
  const image = await pushTestImage(registry, repo, 'v1');
  const result = await verifier.verifyAttestations(`${registry.host}/${repo}:v1`, POLICY);
  expect(result.error?.code).toBe('NO_SIGNATURES');
  expect(result.error?.message).toContain(`sha256-${image.digest.slice(7)}.att`);
});

describe('intoto 0.0.1 entries (not known to @sigstore/verify; checked by imgverify)', () => {
  /** An attestation logged as cosign's older intoto 0.0.1 entry kind. */
  async function intotoV001(
    mutate: (body: Json, envelope: Buffer) => void = () => undefined,
    setSigner: 'log' | 'unknown-key' = 'log',
    envelopeTransform: (envelope: Buffer<ArrayBuffer>) => Buffer<ArrayBuffer> = (e) => e,
  ) {
    const repo = `att/v001-${++n}`;
    const image = await pushTestImage(registry, repo, 'v1');
    const minted = sigstore.attestImage({ digest: image.digest, predicateType: SLSA02, predicate: { v: 1 }, identity: { email: SIGNER }, issuer: ISSUER });
    const layer = { ...minted, payload: envelopeTransform(minted.payload) };
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const body = {
      apiVersion: '0.0.1',
      kind: 'intoto',
      spec: {
        content: {
          hash: { algorithm: 'sha256', value: sha(layer.payload) },
          payloadHash: { algorithm: 'sha256', value: sha(layer.details.statement) },
        },
        publicKey: Buffer.from(layer.details.certificate.pem).toString('base64'),
      },
    };
    mutate(body, layer.payload);
    const entry = sigstore.rekor.addBody(body, { integratedTime: layer.details.signedAt, setSigner });
    const annotation = JSON.stringify({
      SignedEntryTimestamp: entry.signedEntryTimestamp.toString('base64'),
      Payload: { body: entry.body.toString('base64'), integratedTime: entry.integratedTime, logIndex: entry.logIndex, logID: entry.logID },
    });
    await pushAttestations(registry, repo, image.digest, [{ ...layer, annotations: { ...layer.annotations, [COSIGN_ANNOTATIONS.bundle]: annotation } }]);
    return `${registry.host}/${repo}:v1`;
  }

  test('verifies', async () => {
    const result = await verifier.verifyAttestations(await intotoV001(), POLICY, { predicateType: SLSA02 });
    expect(result.error).toBeUndefined();
    expect(result.verified).toBe(true);
  });
  test('SET by an unknown key → TLOG_INCLUSION_PROMISE_INVALID', async () => {
    const result = await verifier.verifyAttestations(await intotoV001(undefined, 'unknown-key'), POLICY);
    expect(result.error?.code).toBe('TLOG_INCLUSION_PROMISE_INVALID');
  });
  test('envelope hash of another envelope → TLOG_BODY_MISMATCH', async () => {
    const ref = await intotoV001((body) => (body.spec.content.hash.value = 'ab'.repeat(32)));
    expect((await verifier.verifyAttestations(ref, POLICY)).error?.code).toBe('TLOG_BODY_MISMATCH');
  });
  test('payload hash of another payload → TLOG_BODY_MISMATCH', async () => {
    const ref = await intotoV001((body) => (body.spec.content.payloadHash.value = 'cd'.repeat(32)));
    expect((await verifier.verifyAttestations(ref, POLICY)).error?.code).toBe('TLOG_BODY_MISMATCH');
  });
  test('an envelope signature that does not verify (and was logged so) → SIGNATURE_INVALID', async () => {
    const ref = await intotoV001(undefined, 'log', (envelope) => {
      const json = JSON.parse(envelope.toString());
      const sig = Buffer.from(json.signatures[0].sig, 'base64');
      sig[sig.length - 1]! ^= 0x01;
      json.signatures[0].sig = sig.toString('base64');
      return Buffer.from(JSON.stringify(json));
    });
    const result = await verifier.verifyAttestations(ref, POLICY);
    expect(result.error?.code).toBe('SIGNATURE_INVALID');
  });

  test('another public key in the entry → TLOG_BODY_MISMATCH', async () => {
    const other = sigstore.signImage({ digest: `sha256:${'1'.repeat(64)}`, identity: { email: SIGNER }, issuer: ISSUER });
    const ref = await intotoV001((body) => (body.spec.publicKey = Buffer.from(other.details.certificate.pem).toString('base64')));
    expect((await verifier.verifyAttestations(ref, POLICY)).error?.code).toBe('TLOG_BODY_MISMATCH');
  });
});
