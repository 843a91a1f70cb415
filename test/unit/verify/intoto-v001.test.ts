/**
 * Rekor intoto 0.0.1 entries (older cosign attestations), checked by imgverify because
 * @sigstore/verify does not know them: the SET by a trusted log valid at the integration
 * time, and the logged envelope and payload hashes.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { RekorBundle } from '../../../src/cosign/legacy-signature';
import { trustRootFromJSON } from '../../../src/trust/trusted-root';
import { isIntotoV001, verifyIntotoV001Entry } from '../../../src/verify/intoto-v001';
import { canonicalJson, createTestSigstore, sign, type RekorEntry } from '../../support/sigstore';
import { thrown } from '../../support/errors';

const sigstore = createTestSigstore();
const material = trustRootFromJSON(sigstore.trustedRoot).material;
const layer = sigstore.attestImage({ digest: `sha256:${'ab'.repeat(32)}`, predicateType: 'https://slsa.dev/provenance/v1', predicate: { v: 1 } });
/** The `.att` layer blob (the envelope as logged) and the DSSE payload (the statement). */
const envelope = layer.payload;
const payload = layer.details.statement;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

type Spec = { content?: unknown; publicKey?: unknown };
const spec = (overrides: Partial<{ hash: unknown; payloadHash: unknown }> = {}): Spec => ({
  content: {
    hash: 'hash' in overrides ? overrides.hash : { algorithm: 'sha256', value: sha256(envelope) },
    ...('payloadHash' in overrides
      ? overrides.payloadHash === undefined
        ? {}
        : { payloadHash: overrides.payloadHash }
      : { payloadHash: { algorithm: 'sha256', value: sha256(payload) } }),
  },
  publicKey: Buffer.from(layer.details.certificate.pem).toString('base64'),
});

function bundleOf(entry: RekorEntry): RekorBundle {
  return {
    body: entry.body,
    signedEntryTimestamp: entry.signedEntryTimestamp,
    integratedTime: entry.integratedTime,
    logIndex: entry.logIndex,
    logID: Buffer.from(entry.logID, 'hex'),
  };
}

/** An intoto 0.0.1 entry logged (and its SET signed) by the test Rekor. */
function logged(body: Spec = spec(), options: { apiVersion?: string; kind?: string; setSigner?: 'log' | 'unknown-key' } = {}): RekorBundle {
  return bundleOf(
    sigstore.rekor.addBody(
      { apiVersion: options.apiVersion ?? '0.0.1', kind: options.kind ?? 'intoto', spec: body },
      { integratedTime: layer.details.signedAt, setSigner: options.setSigner ?? 'log' },
    ),
  );
}

/** A body of any bytes with a SET the log really signed over it. */
function signedByLog(body: Buffer, integratedTime = Math.floor(layer.details.signedAt.getTime() / 1000), logIndex = 7): RekorBundle {
  const logID = sigstore.rekor.logId;
  const set = sign(
    Buffer.from(canonicalJson({ body: body.toString('base64'), integratedTime, logID: logID.toString('hex'), logIndex })),
    sigstore.rekor.privateKey,
  );
  return { body, signedEntryTimestamp: set, integratedTime, logIndex, logID };
}

describe('isIntotoV001', () => {
  test('true only for an intoto 0.0.1 body', () => {
    expect(isIntotoV001(logged())).toBe(true);
    expect(isIntotoV001(logged(spec(), { apiVersion: '0.0.2' }))).toBe(false);
    expect(isIntotoV001(logged(spec(), { kind: 'dsse' }))).toBe(false);
    expect(isIntotoV001(bundleOf(layer.details.rekorEntry))).toBe(false); // the test Sigstore logs intoto 0.0.2
    expect(isIntotoV001(undefined)).toBe(false);
    expect(isIntotoV001(signedByLog(Buffer.from('{"kind":"intoto",')))).toBe(false);
    expect(isIntotoV001(signedByLog(Buffer.from('null')))).toBe(false);
  });
});

describe('verifyIntotoV001Entry', () => {
  test('an entry the trusted log signed, logging this envelope and payload, verifies', () => {
    expect(() => verifyIntotoV001Entry(logged(), envelope, payload, material)).not.toThrow();
  });

  test('payloadHash is optional (not every cosign version wrote it)', () => {
    expect(() => verifyIntotoV001Entry(logged(spec({ payloadHash: undefined })), envelope, payload, material)).not.toThrow();
  });

  describe('the SET: TLOG_INCLUSION_PROMISE_INVALID', () => {
    const setFailure = (rekor: RekorBundle, trust = material): void => {
      const err = thrown(() => verifyIntotoV001Entry(rekor, envelope, payload, trust));
      expect(err.code).toBe('TLOG_INCLUSION_PROMISE_INVALID');
      expect(err.message).toMatch(/signed entry timestamp \(SET\) check failed/);
    };

    test('signed by a key the trusted root does not list', () => setFailure(logged(spec(), { setSigner: 'unknown-key' })));
    test('another integration time', () => {
      const rekor = logged();
      setFailure({ ...rekor, integratedTime: rekor.integratedTime + 1 });
    });
    test('another log index', () => {
      const rekor = logged();
      setFailure({ ...rekor, logIndex: rekor.logIndex + 1000 });
    });
    test('another body (the SET covers it)', () => setFailure({ ...logged(), body: logged(spec({ payloadHash: undefined })).body }));
    test('a log ID the trusted root does not list', () => setFailure({ ...logged(), logID: Buffer.alloc(32, 1) }));
    test('a truncated SET', () => {
      const rekor = logged();
      setFailure({ ...rekor, signedEntryTimestamp: rekor.signedEntryTimestamp.subarray(0, 20) });
    });
    test('the same entry against the root of another Sigstore', () => setFailure(logged(), trustRootFromJSON(sigstore.untrustedRoot()).material));
    test('an integration time outside the log key validity', () => {
      const signedAt = layer.details.signedAt;
      const before = trustRootFromJSON(sigstore.trustedRootWith({ tlogValidFor: { start: new Date(signedAt.getTime() + 60_000) } })).material;
      const after = trustRootFromJSON(
        sigstore.trustedRootWith({ tlogValidFor: { start: sigstore.validFrom, end: new Date(signedAt.getTime() - 60_000) } }),
      ).material;
      setFailure(logged(), before);
      setFailure(logged(), after);
    });
  });

  describe('the body: TLOG_BODY_MISMATCH', () => {
    test.each([
      [
        'the envelope hash of another envelope',
        () => spec({ hash: { algorithm: 'sha256', value: sha256(Buffer.from('other')) } }),
        /envelope hash is not that of this attestation/,
      ],
      ['the hash of the payload where the envelope hash belongs', () => spec({ hash: { algorithm: 'sha256', value: sha256(payload) } }), /envelope hash/],
      ['an envelope hash under another algorithm', () => spec({ hash: { algorithm: 'sha512', value: sha256(envelope) } }), /envelope hash/],
      ['an envelope hash in upper case', () => spec({ hash: { algorithm: 'sha256', value: sha256(envelope).toUpperCase() } }), /envelope hash/],
      ['no envelope hash', () => spec({ hash: undefined }), /envelope hash/],
      ['an envelope hash that is a string', () => spec({ hash: sha256(envelope) }), /envelope hash/],
      ['no content', () => ({ publicKey: spec().publicKey }), /envelope hash/],
      [
        'the payload hash of another payload',
        () => spec({ payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from('other')) } }),
        /payload hash is not that of this attestation/,
      ],
      ['a payload hash under another algorithm', () => spec({ payloadHash: { algorithm: 'sha1', value: sha256(payload) } }), /payload hash/],
      ['a payload hash that is null', () => spec({ payloadHash: null }), /payload hash/],
    ])('%s', (_name, body, message) => {
      const err = thrown(() => verifyIntotoV001Entry(logged(body()), envelope, payload, material));
      expect(err.code).toBe('TLOG_BODY_MISMATCH');
      expect(err.message).toMatch(message);
    });

    test('another envelope or payload than the one logged', () => {
      const rekor = logged();
      const other = sigstore.attestImage({ digest: `sha256:${'ab'.repeat(32)}`, predicateType: 'https://slsa.dev/provenance/v1', predicate: { v: 2 } });
      expect(thrown(() => verifyIntotoV001Entry(rekor, other.payload, payload, material)).code).toBe('TLOG_BODY_MISMATCH');
      expect(thrown(() => verifyIntotoV001Entry(rekor, envelope, other.details.statement, material)).code).toBe('TLOG_BODY_MISMATCH');
      expect(thrown(() => verifyIntotoV001Entry(rekor, Buffer.concat([envelope, Buffer.from('\n')]), payload, material)).code).toBe('TLOG_BODY_MISMATCH');
    });

    test('a body that is not JSON, though the log signed it', () => {
      const err = thrown(() => verifyIntotoV001Entry(signedByLog(Buffer.from('not json')), envelope, payload, material));
      expect(err.code).toBe('TLOG_BODY_MISMATCH');
      expect(err.message).toBe('Rekor entry body is not JSON');
    });
  });

  test('property: a body the log signed verifies exactly when it logs this envelope (and this payload, if it names one)', () => {
    const hashValue = fc.oneof(
      fc.constant(sha256(envelope)),
      fc.constant(sha256(payload)),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
      fc.jsonValue(),
    );
    const hash = fc.oneof(fc.record({ algorithm: fc.constantFrom('sha256', 'sha512', 'SHA256'), value: hashValue }), fc.jsonValue());
    const body = fc.oneof(
      fc.record({
        apiVersion: fc.constant('0.0.1'),
        kind: fc.constant('intoto'),
        spec: fc.record({ content: fc.record({ hash, payloadHash: hash }, { requiredKeys: [] }) }, { requiredKeys: [] }),
      }),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(body, (value) => {
        const rekor = signedByLog(Buffer.from(JSON.stringify(value)));
        const content = (
          value as { spec?: { content?: { hash?: { algorithm?: unknown; value?: unknown }; payloadHash?: { algorithm?: unknown; value?: unknown } } } } | null
        )?.spec?.content;
        const matches = (h: { algorithm?: unknown; value?: unknown } | undefined, data: Buffer) => h?.algorithm === 'sha256' && h.value === sha256(data);
        const valid =
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          matches(content?.hash, envelope) &&
          (content?.payloadHash === undefined || matches(content.payloadHash, payload));
        if (valid) expect(() => verifyIntotoV001Entry(rekor, envelope, payload, material)).not.toThrow();
        else expect(thrown(() => verifyIntotoV001Entry(rekor, envelope, payload, material)).code).toBe('TLOG_BODY_MISMATCH');
      }),
      { numRuns: 200 },
    );
  });
});
