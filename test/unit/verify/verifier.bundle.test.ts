/**
 * verifyBundle on bundles minted by the private test Sigstore: every bundle version, both
 * artifact forms (bytes, sha256 digest), keyless and key-based, DSSE with and without an
 * artifact; and each check reports its own code.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import type { ErrorCode } from '../../../src/errors';
import type { VerificationPolicy } from '../../../src/policy/policy';
import { trustRootFromJSON } from '../../../src/trust/trusted-root';
import type { BundleArtifact, VerifiedBundle } from '../../../src';
import { checksFor, verifyBundle, verifyImageStatement, type Checks } from '../../support/verify';
import {
  DEFAULT_ISSUER,
  createTestSigstore,
  generateKeyPair,
  legacyLayerToBundle,
  preAuthEncoding,
  publicKeyPem,
  sign,
  type CosignLayer,
  type KeylessDefect,
  type KeyType,
  type TestSigstore,
} from '../../support/sigstore';
import type { JsonObject } from '../../support/json';
import { thrown } from '../../support/errors';

const SIGNER = 'release@example.test';
const IMAGE_DIGEST = `sha256:${'ab'.repeat(32)}`;

const sigstore: TestSigstore = createTestSigstore();
const trust = trustRootFromJSON(sigstore.trustedRoot, 'test sigstore');

function checks(policy: VerificationPolicy): Checks {
  return checksFor(trust, policy);
}
const KEYLESS = checks({ subject: SIGNER, issuer: DEFAULT_ISSUER });

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function expectCode(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  const err = thrown(fn);
  expect({ code: err.code, message: err.message }).toEqual({ code, message: message ? expect.stringMatching(message) : expect.any(String) });
}

function clone(bundle: SerializedBundle | JsonObject): JsonObject {
  return JSON.parse(JSON.stringify(bundle)) as JsonObject;
}

/** A v0.1 bundle as legacyLayerToBundle writes it, turned into v0.2 (proof) or v0.3 (proof, single certificate). */
function bundleOf(layer: CosignLayer, version: '0.1' | '0.2' | '0.3' = '0.1', options: { publicKeyHint?: string } = {}): JsonObject {
  const entry = (layer as { details?: { rekorEntry?: Parameters<TestSigstore['rekor']['inclusionProof']>[0] } }).details?.rekorEntry;
  const proof = version === '0.1' || !entry ? undefined : sigstore.rekor.inclusionProof(entry);
  const json = clone(legacyLayerToBundle(layer, { ...(proof ? { inclusionProof: proof } : {}), ...options }));
  if (version === '0.3') {
    json.mediaType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
    if (json.verificationMaterial.x509CertificateChain) {
      json.verificationMaterial.certificate = json.verificationMaterial.x509CertificateChain.certificates[0];
      delete json.verificationMaterial.x509CertificateChain;
    }
  }
  return json;
}

function keyless(defect?: KeylessDefect, extra: { timestamp?: boolean; tlog?: boolean } = {}) {
  return sigstore.signImage({ digest: IMAGE_DIGEST, identity: { email: SIGNER }, ...(defect ? { defect } : {}), ...extra });
}

describe('keyless message signatures', () => {
  const layer = keyless();
  const byBytes: BundleArtifact = { bytes: layer.payload };
  const byDigest: BundleArtifact = { sha256: sha256Hex(layer.payload) };

  describe.each(['0.1', '0.2', '0.3'] as const)('bundle v%s', (version) => {
    const bundle = bundleOf(layer, version);
    test.each([
      ['file', byBytes],
      ['digest', byDigest],
    ])('verifies by %s', (_mode, artifact) => {
      const result: VerifiedBundle = verifyBundle(bundle, artifact, KEYLESS);
      expect(result.signer).toMatchObject({ subject: SIGNER, issuer: DEFAULT_ISSUER });
      expect(result.content).toEqual({ kind: 'message-signature', digest: `sha256:${sha256Hex(layer.payload)}` });
      const entry = layer.details.rekorEntry!;
      expect(result.tlog).toEqual({ logIndex: entry.logIndex, logId: entry.logID, integratedTime: new Date(entry.integratedTime * 1000).toISOString() });
      expect(result.signedAt).toBe(new Date(entry.integratedTime * 1000).toISOString());
    });
  });

  test('the bundle may be given as JSON text or bytes', () => {
    const text = JSON.stringify(bundleOf(layer));
    expect(verifyBundle(text, byDigest, KEYLESS).signer.subject).toBe(SIGNER);
    expect(verifyBundle(Buffer.from(text), byBytes, KEYLESS).signer.subject).toBe(SIGNER);
  });

  test('another identity or issuer fails the policy', () => {
    const bundle = bundleOf(layer);
    expectCode(() => verifyBundle(bundle, byBytes, checks({ subject: 'someone@else.test', issuer: DEFAULT_ISSUER })), 'IDENTITY_MISMATCH');
    expectCode(() => verifyBundle(bundle, byDigest, checks({ subject: SIGNER, issuer: 'https://other.test' })), 'ISSUER_MISMATCH');
    expect(verifyBundle(bundle, byDigest, checks({ subjectRegExp: '@example\\.test$', issuer: DEFAULT_ISSUER })).signer.subject).toBe(SIGNER);
  });

  test('another artifact fails before any cryptography: its digest is not the one the bundle names', () => {
    const bundle = bundleOf(layer);
    expectCode(() => verifyBundle(bundle, { bytes: Buffer.from('other') }, KEYLESS), 'DIGEST_MISMATCH', /is not the one the bundle was made for/);
    expectCode(() => verifyBundle(bundle, { sha256: 'cd'.repeat(32) }, KEYLESS), 'DIGEST_MISMATCH');
  });

  test('the messageDigest is only a hint: a bundle whose hint was changed to match another artifact fails in the log check', () => {
    const other = Buffer.from('another artifact');
    const bundle = bundleOf(layer);
    bundle.messageSignature.messageDigest.digest = createHash('sha256').update(other).digest('base64');
    expectCode(() => verifyBundle(bundle, { bytes: other }, KEYLESS), 'TLOG_BODY_MISMATCH');
    expectCode(() => verifyBundle(bundle, { sha256: sha256Hex(other) }, KEYLESS), 'TLOG_BODY_MISMATCH');
  });

  test('a message signature needs an artifact, and a digest must be 64 hex characters', () => {
    const bundle = bundleOf(layer);
    expectCode(() => verifyBundle(bundle, undefined as unknown as BundleArtifact, KEYLESS), 'INVALID_OPTIONS', /give its bytes or its SHA-256 digest/);
    expectCode(() => verifyBundle(bundle, { sha256: 'abc' }, KEYLESS), 'INVALID_OPTIONS');
  });

  const DEFECTS: Array<[KeylessDefect, ErrorCode]> = [
    ['tampered-payload', 'TLOG_BODY_MISMATCH'],
    ['signature-other-key', 'SIGNATURE_INVALID'],
    ['set-unknown-key', 'TLOG_INCLUSION_PROMISE_INVALID'],
    ['rekor-body-other-cert', 'TLOG_BODY_MISMATCH'],
    ['rekor-body-other-hash', 'TLOG_BODY_MISMATCH'],
    ['rekor-body-other-signature', 'TLOG_BODY_MISMATCH'],
    ['no-sct', 'SCT_INVALID'],
    ['sct-unknown-log', 'SCT_INVALID'],
    ['untrusted-ca', 'CERTIFICATE_CHAIN_INVALID'],
    ['wrong-intermediate', 'CERTIFICATE_CHAIN_INVALID'],
    ['cert-expired', 'CERTIFICATE_CHAIN_INVALID'],
    ['cert-not-yet-valid', 'CERTIFICATE_CHAIN_INVALID'],
    ['no-issuer-extension', 'ISSUER_MISMATCH'],
  ];
  test.each(DEFECTS)('%s fails with %s, by file and by digest', (defect, code) => {
    const bad = keyless(defect);
    const bundle = bundleOf(bad);
    const digest = sha256Hex(bad.payload);
    expectCode(() => verifyBundle(bundle, { bytes: bad.payload }, KEYLESS), code);
    // tampered-payload: the bundle's hint is the tampered payload's digest, as is the artifact.
    expectCode(() => verifyBundle(bundle, { sha256: digest }, KEYLESS), code);
  });

  test('the Rekor entry must name the signing certificate (checked here, not by @sigstore/verify)', () => {
    const bad = keyless('rekor-body-other-cert');
    expectCode(() => verifyBundle(bundleOf(bad), { bytes: bad.payload }, KEYLESS), 'TLOG_BODY_MISMATCH', /does not name the signer/);
  });

  test('a leaf without the codeSigning extended key usage is refused', () => {
    const bad = sigstore.signImage({ digest: IMAGE_DIGEST, identity: { email: SIGNER }, certificate: { removeExtensions: ['2.5.29.37'] } });
    expectCode(() => verifyBundle(bundleOf(bad), { bytes: bad.payload }, KEYLESS), 'CERTIFICATE_CHAIN_INVALID', /codeSigning/);
  });

  test('no log entry: refused as such (one algorithm for every format, as for legacy signatures); a keyless signature without one still needs a signed time', () => {
    const untimed = keyless(undefined, { tlog: false });
    expectCode(() => verifyBundle(bundleOf(untimed), { bytes: untimed.payload }, KEYLESS), 'TLOG_ENTRY_MISSING', /no transparency-log entry/);
    expectCode(
      () => verifyBundle(bundleOf(untimed), { bytes: untimed.payload }, checks({ subject: SIGNER, issuer: DEFAULT_ISSUER, insecureIgnoreTlog: true })),
      'TIMESTAMP_INVALID',
    );
    const timed = keyless(undefined, { tlog: false, timestamp: true });
    expectCode(() => verifyBundle(bundleOf(timed), { bytes: timed.payload }, KEYLESS), 'TLOG_ENTRY_MISSING');
    const ignoring = checks({ subject: SIGNER, issuer: DEFAULT_ISSUER, insecureIgnoreTlog: true });
    expect(verifyBundle(bundleOf(timed), { bytes: timed.payload }, ignoring).tlog).toBeUndefined();
  });

  test('an RFC 3161 timestamp is the signed time when it is earlier than the log entry', () => {
    const signedAt = new Date(sigstore.now.getTime() - 3 * 3600_000);
    const timed = sigstore.signImage({ digest: IMAGE_DIGEST, identity: { email: SIGNER }, timestamp: true, signedAt });
    const result = verifyBundle(bundleOf(timed), { bytes: timed.payload }, KEYLESS);
    expect(result.signedAt).toBe(new Date(Math.floor(signedAt.getTime() / 1000) * 1000).toISOString());
  });
});

describe('key-based message signatures', () => {
  function keySigned(type: KeyType, hash: 'sha256' | 'sha384' = 'sha256', defect?: 'rekor-body-other-key') {
    const pair = generateKeyPair(type);
    const layer = sigstore.signImageWithKey({ digest: IMAGE_DIGEST, privateKey: pair.privateKey, tlog: true, hash, ...(defect ? { defect } : {}) });
    return { layer, bundle: bundleOf(layer, '0.1', { publicKeyHint: 'any hint' }), ctx: checks({ publicKey: publicKeyPem(pair.publicKey) }) };
  }

  test.each(['ecdsa-p256', 'ecdsa-p384', 'rsa-2048'] as const)('%s verifies by file and by digest', (type) => {
    const { layer, bundle, ctx } = keySigned(type);
    for (const artifact of [{ bytes: layer.payload }, { sha256: sha256Hex(layer.payload) }]) {
      const result = verifyBundle(bundle, artifact, ctx);
      expect(result.signer.publicKeySha256).toMatch(/^[0-9a-f]{64}$/);
      expect(result.tlog?.logIndex).toBe(layer.details.rekorEntry!.logIndex);
    }
  });

  test('Ed25519 verifies by file; by digest it is refused with a clear usage error', () => {
    const { layer, bundle, ctx } = keySigned('ed25519');
    expect(verifyBundle(bundle, { bytes: layer.payload }, ctx).signer.publicKeySha256).toBeDefined();
    expectCode(() => verifyBundle(bundle, { sha256: sha256Hex(layer.payload) }, ctx), 'INVALID_OPTIONS', /Ed25519.*artifact file/);
  });

  test('a SHA-384 bundle verifies by file; a SHA-256 digest cannot verify it', () => {
    const { layer, bundle, ctx } = keySigned('ecdsa-p384', 'sha384');
    expect(bundle.messageSignature.messageDigest.algorithm).toBe('SHA2_384');
    const sha384 = createHash('sha384').update(layer.payload).digest('hex');
    expect(verifyBundle(bundle, { bytes: layer.payload }, ctx).content).toEqual({ kind: 'message-signature', digest: `sha384:${sha384}` });
    expect(verifyBundle(bundle, { digest: `sha384:${sha384}` }, ctx).signer.publicKeySha256).toMatch(/^[0-9a-f]{64}$/);
    expectCode(() => verifyBundle(bundle, { sha256: sha256Hex(layer.payload) }, ctx), 'INVALID_OPTIONS', /SHA384 digest/);
  });

  test('another key fails; so does a log entry naming another key', () => {
    const { layer, bundle } = keySigned('ecdsa-p256');
    const other = checks({ publicKey: publicKeyPem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey) });
    expectCode(() => verifyBundle(bundle, { sha256: sha256Hex(layer.payload) }, other), 'SIGNATURE_INVALID');
    const lying = keySigned('ecdsa-p256', 'sha256', 'rekor-body-other-key');
    expectCode(() => verifyBundle(lying.bundle, { bytes: lying.layer.payload }, lying.ctx), 'TLOG_BODY_MISMATCH', /logged public key/);
  });

  test('the material must fit the policy: a key bundle needs --key, a certificate bundle identities', () => {
    const { layer, bundle } = keySigned('ecdsa-p256');
    expectCode(() => verifyBundle(bundle, { bytes: layer.payload }, KEYLESS), 'SIGNATURE_MALFORMED', /signed with a key/);
    const certLayer = keyless();
    const ctx = checks({ publicKey: publicKeyPem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey) });
    expectCode(() => verifyBundle(bundleOf(certLayer), { bytes: certLayer.payload }, ctx), 'KEY_MISMATCH', /signed with a certificate/);
  });
});

describe('DSSE bundles (in-toto)', () => {
  const imageHex = IMAGE_DIGEST.slice('sha256:'.length);

  describe.each(['intoto', 'dsse'] as const)('%s log entries', (rekorKind) => {
    const layer = sigstore.attestImage({
      digest: IMAGE_DIGEST,
      identity: { email: SIGNER },
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: { ok: true },
      rekorKind,
    });

    test.each(['0.1', '0.2', '0.3'] as const)('v%s: the artifact digest must be a subject', (version) => {
      const bundle = bundleOf(layer, version);
      const result = verifyBundle(bundle, { sha256: imageHex }, KEYLESS);
      expect(result.content).toEqual({ kind: 'dsse', payloadType: 'application/vnd.in-toto+json', payload: layer.details.statement });
      expectCode(() => verifyBundle(bundle, { sha256: 'cd'.repeat(32) }, KEYLESS), 'PAYLOAD_DIGEST_MISMATCH', /statement is not about sha256:/);
      expectCode(() => verifyBundle(bundle, { bytes: Buffer.from('not the subject') }, KEYLESS), 'PAYLOAD_DIGEST_MISMATCH');
    });

    test('as a statement about an image (cosign v3 referrer), the image digest must be a subject', () => {
      const result = verifyImageStatement(bundleOf(layer, '0.3'), IMAGE_DIGEST, KEYLESS);
      expect(result.dsse?.payloadType).toBe('application/vnd.in-toto+json');
      expect(result.statement?.subjects[0]?.digest.sha256).toBe(imageHex);
      expect(result.signedDigest).toBe(IMAGE_DIGEST);
      expectCode(() => verifyImageStatement(bundleOf(layer, '0.3'), `sha256:${'cd'.repeat(32)}`, KEYLESS), 'PAYLOAD_DIGEST_MISMATCH');
    });
  });

  test('as a statement about an image, the signature and the policy are checked too', () => {
    const tampered = sigstore.attestImage({ digest: IMAGE_DIGEST, identity: { email: SIGNER }, predicateType: 'x', predicate: {}, defect: 'tampered-payload' });
    expectCode(() => verifyImageStatement(bundleOf(tampered), IMAGE_DIGEST, KEYLESS), 'TLOG_BODY_MISMATCH');
    const good = sigstore.attestImage({ digest: IMAGE_DIGEST, identity: { email: SIGNER }, predicateType: 'x', predicate: {} });
    expectCode(
      () => verifyImageStatement(bundleOf(good), IMAGE_DIGEST, checks({ subject: 'other@example.test', issuer: DEFAULT_ISSUER })),
      'IDENTITY_MISMATCH',
    );
  });

  test('a DSSE payload that is not in-toto is refused, even though it is validly signed and logged', () => {
    const payloadType = 'application/vnd.example+json';
    const payload = Buffer.from('{"hello":"world"}');
    const key = generateKeyPair('ecdsa-p256');
    const signedAt = sigstore.nextSigningTime();
    const certificate = sigstore.fulcio.issue({ publicKey: key.publicKey, identity: { email: SIGNER }, issuer: DEFAULT_ISSUER, signedAt });
    const envelope = {
      payloadType,
      payload: payload.toString('base64'),
      signatures: [{ keyid: '', sig: sign(preAuthEncoding(payloadType, payload), key.privateKey).toString('base64') }],
    };
    const entry = sigstore.rekor.addDsse({ envelope, verifierPEM: certificate.pem, integratedTime: signedAt });
    const bundle = {
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: {
        x509CertificateChain: { certificates: [{ rawBytes: certificate.der.toString('base64') }] },
        tlogEntries: [
          {
            logIndex: String(entry.logIndex),
            logId: { keyId: Buffer.from(entry.logID, 'hex').toString('base64') },
            kindVersion: { kind: entry.kind, version: entry.apiVersion },
            integratedTime: String(entry.integratedTime),
            inclusionPromise: { signedEntryTimestamp: entry.signedEntryTimestamp.toString('base64') },
            canonicalizedBody: entry.body.toString('base64'),
          },
        ],
      },
      dsseEnvelope: envelope,
    };
    expectCode(() => verifyImageStatement(bundle, IMAGE_DIGEST, KEYLESS), 'PAYLOAD_INVALID', /payload type/);
    expectCode(() => verifyBundle(bundle, { bytes: payload }, KEYLESS), 'PAYLOAD_INVALID', /payload type/);
  });
});
