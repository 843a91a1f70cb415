/**
 * in-toto statements: what a signed attestation payload must look like, and that it is
 * about the image being verified.
 */
import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import { checkStatementBindsDigest, COSIGN_SIGN_PREDICATE, parseStatement, STATEMENT_TYPES, type InTotoStatement } from '../../../src/cosign/in-toto';
import { createTestSigstore, inTotoStatement } from '../../support/sigstore';
import { thrown } from '../../support/errors';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const OTHER = `sha256:${'cd'.repeat(32)}`;
const SLSA = 'https://slsa.dev/provenance/v1';

const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');
const statement = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'registry.example.test/app', digest: { sha256: 'ab'.repeat(32) } }],
  predicateType: SLSA,
  predicate: { buildType: 'x' },
  ...fields,
});

describe('parseStatement', () => {
  test('the statement cosign attest signs (in-toto v0.1, Go field order) parses', () => {
    const payload = inTotoStatement({ repository: 'registry.example.test/app', digest: DIGEST, predicateType: SLSA, predicate: { buildType: 'b' } });
    const parsed = parseStatement(payload);
    expect(parsed).toMatchObject({
      type: 'https://in-toto.io/Statement/v0.1',
      predicateType: SLSA,
      predicate: { buildType: 'b' },
      subjects: [{ name: 'registry.example.test/app', digest: { sha256: 'ab'.repeat(32) } }],
    });
    expect(parsed.json).toEqual(JSON.parse(payload.toString('utf8')));
  });

  test('the payload of a test Sigstore attestation parses to its predicate type', () => {
    const layer = createTestSigstore().attestImage({ digest: DIGEST, predicateType: COSIGN_SIGN_PREDICATE, predicate: {} });
    expect(parseStatement(layer.details.statement).predicateType).toBe(COSIGN_SIGN_PREDICATE);
  });

  test('both statement types; several subjects; a subject without a name; non-string digest values dropped', () => {
    expect([...STATEMENT_TYPES].sort()).toEqual(['https://in-toto.io/Statement/v0.1', 'https://in-toto.io/Statement/v1']);
    const parsed = parseStatement(
      bytes(statement({ subject: [{ digest: { sha256: 'ab'.repeat(32), sha512: 7, md5: null } }, { name: 'b', digest: { sha256: 'cd'.repeat(32) } }] })),
    );
    expect(parsed.subjects).toEqual([
      { name: '', digest: { sha256: 'ab'.repeat(32) } },
      { name: 'b', digest: { sha256: 'cd'.repeat(32) } },
    ]);
  });

  test('a missing predicate is undefined (the predicate type alone may be what a policy needs)', () => {
    const { predicate: _dropped, ...rest } = statement();
    expect(parseStatement(bytes(rest)).predicate).toBeUndefined();
  });

  test.each([
    ['not JSON', Buffer.from('{"_type":'), /not JSON/],
    ['not UTF-8 JSON at all', Buffer.from([0xff, 0xfe, 0x00]), /not JSON/],
    ['a JSON array', bytes([statement()]), /not a JSON object/],
    ['JSON null', bytes(null), /not a JSON object/],
    ['no _type', bytes(statement({ _type: undefined })), /unknown _type undefined/],
    ['an unknown _type', bytes(statement({ _type: 'https://in-toto.io/Statement/v2' })), /unknown _type "https:\/\/in-toto.io\/Statement\/v2"/],
    ['a _type of another kind', bytes(statement({ _type: 1 })), /unknown _type 1/],
    ['no predicateType', bytes(statement({ predicateType: undefined })), /missing predicateType/],
    ['an empty predicateType', bytes(statement({ predicateType: '' })), /missing predicateType/],
    ['a predicateType that is not a string', bytes(statement({ predicateType: ['x'] })), /missing predicateType/],
    ['no subject', bytes(statement({ subject: undefined })), /missing subject/],
    ['an empty subject list', bytes(statement({ subject: [] })), /missing subject/],
    ['a subject that is an object, not a list', bytes(statement({ subject: { digest: { sha256: 'ab' } } })), /missing subject/],
    ['a subject without a digest', bytes(statement({ subject: [{ name: 'a' }] })), /subject\[0\] has no digest/],
    ['a second subject that is not an object', bytes(statement({ subject: [{ digest: {} }, 'x'] })), /subject\[1\] has no digest/],
    ['a digest that is a list', bytes(statement({ subject: [{ digest: ['sha256'] }] })), /subject\[0\] has no digest/],
  ])('%s is PAYLOAD_INVALID', (_name, payload, message) => {
    const err = thrown(() => parseStatement(payload));
    expect(err.code).toBe('PAYLOAD_INVALID');
    expect(err.message).toMatch(/^signed payload is not an in-toto statement: /);
    expect(err.message).toMatch(message);
  });

  test('property: arbitrary bytes and arbitrary JSON either parse to a well-formed statement or are PAYLOAD_INVALID', () => {
    const anyStatement = fc.record(
      {
        _type: fc.oneof(fc.constantFrom(...STATEMENT_TYPES), fc.jsonValue()),
        predicateType: fc.oneof(fc.string(), fc.jsonValue()),
        subject: fc.oneof(
          fc.array(fc.record({ name: fc.jsonValue(), digest: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()) }, { requiredKeys: [] })),
          fc.jsonValue(),
        ),
        predicate: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
      fc.jsonValue().map(bytes),
      anyStatement.map(bytes),
    );
    fc.assert(
      fc.property(input, (payload) => {
        let parsed: InTotoStatement;
        try {
          parsed = parseStatement(payload);
        } catch (err) {
          expect(err).toBeInstanceOf(ImgverifyError);
          expect((err as ImgverifyError).code).toBe('PAYLOAD_INVALID');
          return;
        }
        expect(STATEMENT_TYPES.has(parsed.type)).toBe(true);
        expect(typeof parsed.predicateType === 'string' && parsed.predicateType.length > 0).toBe(true);
        expect(parsed.subjects.length).toBeGreaterThan(0);
        for (const s of parsed.subjects) {
          expect(typeof s.name).toBe('string');
          for (const value of Object.values(s.digest)) expect(typeof value).toBe('string');
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('checkStatementBindsDigest', () => {
  const parsed = (subjects: unknown[]): InTotoStatement => parseStatement(bytes(statement({ subject: subjects })));

  test('a subject with the digest binds it, whatever the case of the hex or the algorithm', () => {
    expect(() => checkStatementBindsDigest(parsed([{ digest: { sha256: 'ab'.repeat(32) } }]), DIGEST)).not.toThrow();
    expect(() => checkStatementBindsDigest(parsed([{ digest: { sha256: 'AB'.repeat(32) } }]), DIGEST)).not.toThrow();
    expect(() => checkStatementBindsDigest(parsed([{ digest: { sha256: 'ab'.repeat(32) } }]), DIGEST.toUpperCase())).not.toThrow();
  });

  test('any of several subjects may be the image', () => {
    expect(() =>
      checkStatementBindsDigest(parsed([{ name: 'x', digest: { sha256: 'cd'.repeat(32) } }, { digest: { sha512: 'ff', sha256: 'ab'.repeat(32) } }]), DIGEST),
    ).not.toThrow();
  });

  test.each([
    [
      'another digest',
      [{ name: 'registry.example.test/app', digest: { sha256: 'cd'.repeat(32) } }],
      /its subjects are registry\.example\.test\/app sha256:cdcd/,
    ],
    ['the same hex under another algorithm', [{ digest: { sha512: 'ab'.repeat(32) } }], /its subjects are sha512:abab/],
    ['a prefix of the digest', [{ digest: { sha256: 'ab'.repeat(31) } }], /not about sha256:abab/],
    ['a subject with no digest entries', [{ name: 'a', digest: {} }], /its subjects are a \(no digest\)/],
  ])('%s is PAYLOAD_DIGEST_MISMATCH', (_name, subjects, message) => {
    const err = thrown(() => checkStatementBindsDigest(parsed(subjects), DIGEST));
    expect(err.code).toBe('PAYLOAD_DIGEST_MISMATCH');
    expect(err.message).toMatch(message);
    expect(err.details).toEqual({ expected: DIGEST });
  });

  test('the statement of an attestation about another image does not bind this one', () => {
    const layer = createTestSigstore().attestImage({ digest: DIGEST, predicateType: SLSA, predicate: {}, defect: 'subject-other-digest' });
    expect(thrown(() => checkStatementBindsDigest(parseStatement(layer.details.statement), DIGEST)).code).toBe('PAYLOAD_DIGEST_MISMATCH');
    expect(thrown(() => checkStatementBindsDigest(parseStatement(bytes(statement())), OTHER)).code).toBe('PAYLOAD_DIGEST_MISMATCH');
  });

  test('property: binds exactly when a subject carries the digest under its algorithm', () => {
    const hex = fc.constantFrom('ab'.repeat(32), 'cd'.repeat(32), 'ef'.repeat(32));
    const subject = fc.record({ name: fc.string(), digest: fc.dictionary(fc.constantFrom('sha256', 'sha512', 'md5'), hex) });
    fc.assert(
      fc.property(fc.array(subject, { minLength: 1, maxLength: 4 }), hex, (subjects, wanted) => {
        const binds = subjects.some((s) => s.digest.sha256 === wanted);
        const check = () => checkStatementBindsDigest(parsed(subjects), `sha256:${wanted}`);
        if (binds) expect(check).not.toThrow();
        else expect(thrown(check).code).toBe('PAYLOAD_DIGEST_MISMATCH');
      }),
      { numRuns: 300 },
    );
  });
});
