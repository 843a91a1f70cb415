/**
 * DSSE envelopes as cosign stores them (`.att` layer blobs, v0.3 bundle content): strict
 * base64, at least one signature, nothing silently decoded from garbage.
 */
import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import { IN_TOTO_PAYLOAD_TYPE, parseDsseEnvelope, type DsseEnvelope } from '../../../src/cosign/dsse';
import { createTestSigstore, IN_TOTO_PAYLOAD_TYPE as SUPPORT_PAYLOAD_TYPE } from '../../support/sigstore';
import { thrown } from '../../support/errors';

const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');
const PAYLOAD = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
const SIG = Buffer.from('3045022100aa', 'hex');
const envelope = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  payloadType: IN_TOTO_PAYLOAD_TYPE,
  payload: PAYLOAD.toString('base64'),
  signatures: [{ keyid: 'k1', sig: SIG.toString('base64') }],
  ...fields,
});

describe('parseDsseEnvelope', () => {
  test('the envelope cosign attest pushes (the test Sigstore layer blob) parses to its payload and signature', () => {
    const layer = createTestSigstore().attestImage({ digest: `sha256:${'ab'.repeat(32)}`, predicateType: 'https://slsa.dev/provenance/v1', predicate: {} });
    const parsed = parseDsseEnvelope(layer.payload);
    expect(IN_TOTO_PAYLOAD_TYPE).toBe(SUPPORT_PAYLOAD_TYPE);
    expect(parsed.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(parsed.payload.equals(layer.details.statement)).toBe(true);
    expect(parsed.signatures).toHaveLength(1);
    expect(parsed.signatures[0]!.keyid).toBe('');
    expect(parsed.signatures[0]!.sig.toString('base64')).toBe(layer.details.envelope.signatures[0]!.sig);
  });

  test('several signatures, keyids kept, a missing or non-string keyid is ""', () => {
    const parsed = parseDsseEnvelope(bytes(envelope({ signatures: [{ keyid: 'a', sig: 'AQID' }, { sig: 'BAU=' }, { keyid: 7, sig: 'Bg==' }] })));
    expect(parsed.signatures.map((s) => [s.keyid, [...s.sig]])).toEqual([
      ['a', [1, 2, 3]],
      ['', [4, 5]],
      ['', [6]],
    ]);
  });

  test('an empty payload and any payload type are the caller to judge', () => {
    const parsed = parseDsseEnvelope(bytes(envelope({ payload: '', payloadType: 'text/plain' })));
    expect(parsed.payload.length).toBe(0);
    expect(parsed.payloadType).toBe('text/plain');
  });

  test('base64 wrapped over lines (as some encoders write it) decodes', () => {
    const b64 = Buffer.alloc(100, 7).toString('base64');
    const parsed = parseDsseEnvelope(bytes(envelope({ payload: `${b64.slice(0, 76)}\r\n${b64.slice(76)}` })));
    expect(parsed.payload.equals(Buffer.alloc(100, 7))).toBe(true);
  });

  test.each([
    ['not JSON', Buffer.from('{"payloadType"'), /not JSON/],
    ['a JSON array', bytes([envelope()]), /not a JSON object/],
    ['a JSON string', bytes('envelope'), /not a JSON object/],
    ['no payloadType', bytes(envelope({ payloadType: undefined })), /missing payloadType/],
    ['an empty payloadType', bytes(envelope({ payloadType: '' })), /missing payloadType/],
    ['a payloadType that is not a string', bytes(envelope({ payloadType: { type: 'x' } })), /missing payloadType/],
    ['no payload', bytes(envelope({ payload: undefined })), /payload is not base64/],
    ['a payload with characters outside base64 (Node would skip them)', bytes(envelope({ payload: 'eyJh*Ij0x}' })), /payload is not base64/],
    ['unpadded base64', bytes(envelope({ payload: 'AQI' })), /payload is not base64/],
    ['URL-safe base64', bytes(envelope({ payload: '-_-_' })), /payload is not base64/],
    ['a payload that is a number', bytes(envelope({ payload: 1234 })), /payload is not base64/],
    ['no signatures', bytes(envelope({ signatures: undefined })), /no signatures/],
    ['an empty signature list', bytes(envelope({ signatures: [] })), /no signatures/],
    ['signatures that are an object', bytes(envelope({ signatures: { sig: 'AQID' } })), /no signatures/],
    ['a signature without sig', bytes(envelope({ signatures: [{ keyid: 'a' }] })), /signatures\[0\]\.sig is not base64/],
    ['an empty sig', bytes(envelope({ signatures: [{ sig: '' }] })), /signatures\[0\]\.sig is not base64/],
    ['a second signature that is not base64', bytes(envelope({ signatures: [{ sig: 'AQID' }, { sig: 'not base64' }] })), /signatures\[1\]\.sig is not base64/],
    ['a signature that is a string', bytes(envelope({ signatures: ['AQID'] })), /signatures\[0\]\.sig is not base64/],
  ])('%s is SIGNATURE_MALFORMED', (_name, input, message) => {
    const err = thrown(() => parseDsseEnvelope(input));
    expect(err.code).toBe('SIGNATURE_MALFORMED');
    expect(err.message).toMatch(/^DSSE envelope: /);
    expect(err.message).toMatch(message);
  });

  test('property: a well-formed envelope round-trips', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.record({ keyid: fc.string(), sig: fc.uint8Array({ minLength: 1, maxLength: 80 }) }), { minLength: 1, maxLength: 3 }),
        (payloadType, payload, signatures) => {
          const parsed = parseDsseEnvelope(
            bytes({
              payloadType,
              payload: Buffer.from(payload).toString('base64'),
              signatures: signatures.map((s) => ({ keyid: s.keyid, sig: Buffer.from(s.sig).toString('base64') })),
            }),
          );
          expect(parsed.payloadType).toBe(payloadType);
          expect([...parsed.payload]).toEqual([...payload]);
          expect(parsed.signatures.map((s) => ({ keyid: s.keyid, sig: [...s.sig] }))).toEqual(signatures.map((s) => ({ keyid: s.keyid, sig: [...s.sig] })));
        },
      ),
      { numRuns: 200 },
    );
  });

  test('property: arbitrary input is parsed or SIGNATURE_MALFORMED; what parses has a type, bytes and a signature', () => {
    const field = fc.oneof(fc.base64String(), fc.string(), fc.jsonValue());
    const anyEnvelope = fc.record(
      {
        payloadType: fc.oneof(fc.string(), fc.jsonValue()),
        payload: field,
        signatures: fc.oneof(
          fc.array(fc.oneof(fc.record({ keyid: fc.jsonValue(), sig: field }, { requiredKeys: [] }), fc.jsonValue()), { maxLength: 3 }),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    );
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
      fc.jsonValue().map(bytes),
      anyEnvelope.map(bytes),
    );
    fc.assert(
      fc.property(input, (data) => {
        let parsed: DsseEnvelope;
        try {
          parsed = parseDsseEnvelope(data);
        } catch (err) {
          expect(err).toBeInstanceOf(ImgverifyError);
          expect((err as ImgverifyError).code).toBe('SIGNATURE_MALFORMED');
          return;
        }
        const json = JSON.parse(data.toString('utf8')) as { payload: string; signatures: Array<{ sig: string }> };
        expect(parsed.payloadType.length).toBeGreaterThan(0);
        expect(parsed.payload.equals(Buffer.from(json.payload, 'base64'))).toBe(true);
        expect(parsed.signatures.length).toBe(json.signatures.length);
        for (const s of parsed.signatures) expect(s.sig.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });
});
