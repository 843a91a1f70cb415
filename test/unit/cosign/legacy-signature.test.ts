import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import { legacySignatureToBundle, parseLegacySignature, parseRekorBundle } from '../../../src/cosign/legacy-signature';
import { FIXTURE, readFixtureJSON } from '../../support/fixtures';
import { artifactAnnotations, type CosignArtifact } from '../../support/interop';
import { createTestSigstore } from '../../support/sigstore';
import { errorMessage } from '../../../src/util/describe';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ImgverifyError ? err.code : `UNCODED: ${errorMessage(err)}`;
  }
  return undefined;
}

const bundle = (payload: Record<string, unknown>, set = 'MEUCIQ==') => JSON.stringify({ SignedEntryTimestamp: set, Payload: payload });
const okPayload = { body: 'e30=', integratedTime: 1, logIndex: 2, logID: 'ab'.repeat(32) };

describe('parseRekorBundle', () => {
  test('reads the cosign bundle annotation', () => {
    const b = parseRekorBundle(bundle(okPayload));
    expect(b.integratedTime).toBe(1);
    expect(b.logIndex).toBe(2);
    expect(b.logID.toString('hex')).toBe('ab'.repeat(32));
    expect(b.body.toString()).toBe('{}');
  });
  test.each([
    ['not JSON', '{'],
    ['no Payload', JSON.stringify({ SignedEntryTimestamp: 'AA==' })],
    ['bad SET', bundle(okPayload, '!!')],
    ['bad body', bundle({ ...okPayload, body: 'not base64!' })],
    ['negative logIndex', bundle({ ...okPayload, logIndex: -1 })],
    ['fractional time', bundle({ ...okPayload, integratedTime: 1.5 })],
    ['string time', bundle({ ...okPayload, integratedTime: '1' })],
    ['short logID', bundle({ ...okPayload, logID: 'abcd' })],
    ['non-hex logID', bundle({ ...okPayload, logID: 'zz'.repeat(32) })],
  ])('rejects %s', (_n, text) => {
    expect(codeOf(() => parseRekorBundle(text))).toBe('SIGNATURE_MALFORMED');
  });
});

describe('parseLegacySignature', () => {
  test('requires a base64 signature annotation', () => {
    expect(codeOf(() => parseLegacySignature({}))).toBe('SIGNATURE_MALFORMED');
    expect(codeOf(() => parseLegacySignature({ 'dev.cosignproject.cosign/signature': 'a b c' }))).toBe('SIGNATURE_MALFORMED');
  });
  test('a key-based signature has no certificate', () => {
    const sig = parseLegacySignature({ 'dev.cosignproject.cosign/signature': 'MEUCIQ==' });
    expect(sig.certificate).toBeUndefined();
    expect(sig.rekorBundle).toBeUndefined();
  });
  test('rejects a certificate annotation that is not one PEM certificate', () => {
    const base = { 'dev.cosignproject.cosign/signature': 'MEUCIQ==' };
    expect(codeOf(() => parseLegacySignature({ ...base, 'dev.sigstore.cosign/certificate': 'garbage' }))).toBe('SIGNATURE_MALFORMED');
    expect(
      codeOf(() => parseLegacySignature({ ...base, 'dev.sigstore.cosign/certificate': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' })),
    ).toBe('SIGNATURE_MALFORMED');
    expect(
      codeOf(() => parseLegacySignature({ ...base, 'dev.sigstore.cosign/certificate': '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' })),
    ).toBe('SIGNATURE_MALFORMED');
  });
  test('arbitrary annotation values never escape as uncoded errors', () => {
    const keys = fc.constantFrom(
      'dev.cosignproject.cosign/signature',
      'dev.sigstore.cosign/certificate',
      'dev.sigstore.cosign/chain',
      'dev.sigstore.cosign/bundle',
      'dev.sigstore.cosign/rfc3161timestamp',
    );
    fc.assert(
      fc.property(fc.dictionary(keys, fc.oneof(fc.string(), fc.base64String(), fc.json())), (annotations) => {
        const code = codeOf(() => parseLegacySignature(annotations));
        expect(code === undefined || code === 'SIGNATURE_MALFORMED').toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the chain annotation', () => {
  const sigstore = createTestSigstore();
  const other = sigstore.independentInstance();
  const base = { 'dev.cosignproject.cosign/signature': 'MEUCIQ==' };
  const pemOf = (chain: Uint8Array[]) =>
    chain.map((der) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`).join('');
  const chainPem = pemOf(sigstore.fulcio.chain);
  const chainOf = (pem: string) => parseLegacySignature({ ...base, 'dev.sigstore.cosign/chain': pem }).chain;

  test('decodes to the DER of each certificate, the same every time (remembered per text), each call its own array', () => {
    const expected = sigstore.fulcio.chain.map((der) => Buffer.from(der).toString('hex'));
    const first = chainOf(chainPem);
    const second = chainOf(chainPem);
    expect(first.map((d) => d.toString('hex'))).toEqual(expected);
    expect(second.map((d) => d.toString('hex'))).toEqual(expected);
    expect(second).not.toBe(first);
    // another text is decoded on its own
    expect(chainOf(pemOf(other.fulcio.chain)).map((d) => d.toString('hex'))).toEqual(other.fulcio.chain.map((der) => Buffer.from(der).toString('hex')));
  });

  test('a malformed chain fails every time, also after a good one; more texts than are remembered still decode', () => {
    const broken = chainPem.replace(/MII/g, 'MIJ');
    for (let i = 0; i < 3; i++) {
      expect(codeOf(() => chainOf(chainPem))).toBeUndefined();
      expect(codeOf(() => chainOf(broken))).toBe('SIGNATURE_MALFORMED');
    }
    for (let i = 0; i < 40; i++) expect(chainOf(`${chainPem}${'\n'.repeat(i)}`)).toHaveLength(2);
  });
});

describe('legacySignatureToBundle on a real signature (fixtures/)', () => {
  test('produces a v0.1 message-signature bundle with the SET as inclusion promise', () => {
    const a = readFixtureJSON<CosignArtifact>(...FIXTURE.k8sClusterApi, 'artifact.json');
    const sig = parseLegacySignature(artifactAnnotations(a));
    const b = legacySignatureToBundle(sig, { kind: 'message', payload: Buffer.from(a.payload), hash: 'sha256' });
    expect(b.mediaType).toBe('application/vnd.dev.sigstore.bundle+json;version=0.1');
    const entry = b.verificationMaterial.tlogEntries[0]!;
    expect(entry.kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.1' });
    expect(entry.logIndex).toBe('28719030');
    expect(entry.inclusionPromise?.signedEntryTimestamp.length).toBeGreaterThan(60);
    expect(b.verificationMaterial.content.$case).toBe('x509CertificateChain');
  });
});
