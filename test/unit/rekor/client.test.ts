/**
 * Decoding Rekor v1 REST answers and signature files: shapes refused before anything is
 * verified, and property tests that hostile answers only ever produce coded errors.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import { parseRekorEntry } from '../../../src/rekor/client';
import { decodeCertificate, decodeSignature } from '../../../src/verify/adapters/blob';
import { createTestSigstore, signBlob } from '../../support/sigstore';

const sigstore = createTestSigstore();
const signed = signBlob(sigstore, Buffer.from('kubectl'));
const entry = signed.rekorEntry!;
const proof = sigstore.rekor.inclusionProof(entry);

function answer(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    body: entry.body.toString('base64'),
    integratedTime: entry.integratedTime,
    logID: entry.logID,
    logIndex: entry.logIndex,
    verification: {
      signedEntryTimestamp: entry.signedEntryTimestamp.toString('base64'),
      inclusionProof: {
        checkpoint: proof.checkpoint,
        hashes: proof.hashes.map((h) => h.toString('hex')),
        logIndex: proof.logIndex,
        rootHash: proof.rootHash.toString('hex'),
        treeSize: proof.treeSize,
      },
    },
    ...overrides,
  };
}

test('an entry as rekor.sigstore.dev answers it becomes a transparency-log entry with SET and proof', () => {
  const tlog = parseRekorEntry(answer(), entry.uuid, 'entry');
  expect(tlog.logIndex).toBe(String(entry.logIndex));
  expect(tlog.kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.1' });
  expect(tlog.inclusionPromise?.signedEntryTimestamp.equals(entry.signedEntryTimestamp)).toBe(true);
  expect(tlog.inclusionProof).toMatchObject({ treeSize: String(proof.treeSize), checkpoint: { envelope: proof.checkpoint } });
  expect(Buffer.from(tlog.logId.keyId).toString('hex')).toBe(entry.logID);
});

test.each([
  ['another body than the UUID names', { body: Buffer.from('{"kind":"hashedrekord","apiVersion":"0.0.1"}').toString('base64') }, 'is not the entry asked for'],
  ['a body that is not base64', { body: '%%' }, 'body is not base64'],
  ['a negative log index', { logIndex: -1 }, 'not a non-negative integer'],
  ['a short log ID', { logID: 'abcd' }, '32-byte hex log ID'],
  ['no SET and no proof', { verification: {} }, 'neither a signed entry timestamp nor an inclusion proof'],
  ['an incomplete proof', { verification: { signedEntryTimestamp: 'AAAA', inclusionProof: { hashes: [] } } }, 'inclusion proof is incomplete'],
])('%s is refused (TLOG_ENTRY_MISSING)', (_what, overrides, message) => {
  let caught: unknown;
  try {
    parseRekorEntry(answer(overrides), entry.uuid, 'entry');
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ImgverifyError);
  expect((caught as ImgverifyError).code).toBe('TLOG_ENTRY_MISSING');
  expect((caught as ImgverifyError).message).toContain(message);
});

test('property: any JSON as an entry answer yields an entry or a coded error, never another exception', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom('body', 'integratedTime', 'logID', 'logIndex', 'verification', 'all'), (value, field) => {
      const input = field === 'all' ? value : answer({ [field]: value });
      try {
        parseRekorEntry(input, entry.uuid, 'entry');
      } catch (err) {
        expect(err).toBeInstanceOf(ImgverifyError);
      }
    }),
  );
});

describe('signature files', () => {
  test('base64 (with a trailing newline) or raw bytes', () => {
    expect(decodeSignature(`${signed.sigFile}\n`).equals(signed.signature)).toBe(true);
    expect(decodeSignature(Buffer.from(`${signed.sigFile}\n`)).equals(signed.signature)).toBe(true);
    expect(decodeSignature(signed.signature).equals(signed.signature)).toBe(true);
  });

  test('certificates: PEM, or base64 of PEM as the Kubernetes .cert files', () => {
    const der = signed.certificate!.der;
    expect(decodeCertificate(signed.certificate!.pem).equals(der)).toBe(true);
    expect(decodeCertificate(signed.certFile!).equals(der)).toBe(true);
    expect(decodeCertificate(`${signed.certFile!.replace(/(.{64})/g, '$1\n')}\n`).equals(der)).toBe(true);
    expect(() => decodeCertificate(signed.certificate!.pem + signed.certificate!.pem)).toThrow(/holds 2 certificates/);
    expect(() => decodeCertificate('bm90IGEgY2VydA==')).toThrow(/not PEM/);
  });

  test('property: arbitrary bytes as a certificate file give a certificate or SIGNATURE_MALFORMED', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          fc.string().map((s) => Buffer.from(s).toString('base64')),
        ),
        (bytes) => {
          try {
            decodeCertificate(bytes);
          } catch (err) {
            expect((err as ImgverifyError).code).toBe('SIGNATURE_MALFORMED');
          }
        },
      ),
    );
  });
});

test('the UUID is the leaf hash of the body (what the client checks an answer against)', () => {
  expect(
    entry.uuid.endsWith(
      createHash('sha256')
        .update(Buffer.from([0]))
        .update(entry.body)
        .digest('hex'),
    ),
  ).toBe(true);
});
