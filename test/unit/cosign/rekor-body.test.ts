/**
 * checkRekorBodyNamesSigner: a Rekor entry vouches only for the signer it names. Entries of
 * every kind come from the private test Sigstore (or are written here in Rekor's shape,
 * for the kinds it does not log: intoto 0.0.1 and Rekor v2).
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import { checkRekorBodyNamesSigner, type SignerKeyMaterial } from '../../../src/cosign/rekor-body';
import type { JsonObject } from '../../support/json';
import { createTestSigstore, generateKeyPair, publicKeyPem, spkiDer } from '../../support/sigstore';

const sigstore = createTestSigstore();
const DIGEST = `sha256:${'ab'.repeat(32)}`;

const keyless = sigstore.signImage({ digest: DIGEST });
const keylessSigner: SignerKeyMaterial = { certificate: keyless.details.certificate.der, publicKey: keyless.details.publicKey };
const releaseKey = generateKeyPair('ecdsa-p256');
const keyed = sigstore.signImageWithKey({ digest: DIGEST, privateKey: releaseKey.privateKey, tlog: true });
const keyedSigner: SignerKeyMaterial = { publicKey: releaseKey.publicKey };
const intoto = sigstore.attestImage({ digest: DIGEST, predicateType: 'https://slsa.dev/provenance/v1', predicate: {} });
const dsse = sigstore.attestImage({ digest: DIGEST, predicateType: 'https://slsa.dev/provenance/v1', predicate: {}, rekorKind: 'dsse' });
const attestationSigner = (layer: typeof intoto): SignerKeyMaterial => ({
  certificate: layer.details.certificate.der,
  publicKey: new X509Certificate(layer.details.certificate.der).publicKey,
});

/** Another signer of each sort: a certificate from the same Fulcio, and a fresh key. */
const stranger = sigstore.signImage({ digest: DIGEST, identity: { email: 'someone@else.test' } });
const strangerSigner: SignerKeyMaterial = { certificate: stranger.details.certificate.der, publicKey: stranger.details.publicKey };
const otherKey = generateKeyPair('ecdsa-p256').publicKey;

const json = (body: Buffer): JsonObject => JSON.parse(body.toString('utf8')) as JsonObject;
const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');
const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');

function rejection(body: Buffer, signer: SignerKeyMaterial): ImgverifyError {
  try {
    checkRekorBodyNamesSigner(body, signer);
  } catch (err) {
    if (err instanceof ImgverifyError) return err;
    throw err;
  }
  throw new Error('the entry was accepted');
}

/** A Rekor v2 entry body (protobuf JSON): DER bytes, base64. */
function rekorV2(kind: 'hashedrekord' | 'dsse', verifier: { certificate?: Buffer; key?: KeyObject }): Buffer {
  const v = verifier.certificate ? { x509Certificate: { rawBytes: b64(verifier.certificate) } } : { publicKey: { rawBytes: b64(spkiDer(verifier.key!)) } };
  const spec =
    kind === 'hashedrekord'
      ? { hashedRekordV002: { data: { digest: b64('x') }, signature: { content: b64('sig'), verifier: { ...v, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } } } }
      : { dsseV002: { payloadHash: { digest: b64('x') }, signatures: [{ content: b64('sig'), verifier: { ...v, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } }] } };
  return bytes({ apiVersion: '0.0.2', kind, spec });
}

/** An intoto 0.0.1 body as older cosign versions logged it: the verifier PEM, base64. */
function intotoV001(verifierPem: string): Buffer {
  return bytes({
    apiVersion: '0.0.1',
    kind: 'intoto',
    spec: { content: { hash: { algorithm: 'sha256', value: 'ab'.repeat(32) } }, publicKey: b64(verifierPem) },
  });
}

describe('entries that name the signer', () => {
  test.each([
    ['hashedrekord 0.0.1 with the signing certificate', () => keyless.details.rekorEntry!.body, () => keylessSigner],
    ['hashedrekord 0.0.1 with the signing key', () => keyed.details.rekorEntry!.body, () => keyedSigner],
    ['intoto 0.0.2', () => intoto.details.rekorEntry.body, () => attestationSigner(intoto)],
    ['dsse 0.0.1', () => dsse.details.rekorEntry.body, () => attestationSigner(dsse)],
    ['intoto 0.0.1 (older cosign)', () => intotoV001(intoto.details.certificate.pem), () => attestationSigner(intoto)],
    ['Rekor v2 hashedrekord with the certificate', () => rekorV2('hashedrekord', { certificate: keyless.details.certificate.der }), () => keylessSigner],
    ['Rekor v2 hashedrekord with the key', () => rekorV2('hashedrekord', { key: releaseKey.publicKey }), () => keyedSigner],
    ['Rekor v2 dsse with the certificate', () => rekorV2('dsse', { certificate: keyless.details.certificate.der }), () => keylessSigner],
  ])('%s', (_name, body, signer) => {
    expect(() => checkRekorBodyNamesSigner(body(), signer())).not.toThrow();
  });

  test("a public key in the body binds a certificate signer when it is the certificate's own key (as cosign accepts)", () => {
    const body = json(keyless.details.rekorEntry!.body);
    body.spec.signature.publicKey.content = b64(publicKeyPem(keyless.details.publicKey));
    expect(() => checkRekorBodyNamesSigner(bytes(body), keylessSigner)).not.toThrow();
  });

  test('PEM with CRLF line ends is the same key', () => {
    const body = json(keyed.details.rekorEntry!.body);
    body.spec.signature.publicKey.content = b64(publicKeyPem(releaseKey.publicKey).replace(/\n/g, '\r\n'));
    expect(() => checkRekorBodyNamesSigner(bytes(body), keyedSigner)).not.toThrow();
  });
});

describe('entries that do not name the signer: TLOG_BODY_MISMATCH', () => {
  const withHashedrekordVerifier = (content: unknown): Buffer => {
    const body = json(keyless.details.rekorEntry!.body);
    body.spec.signature.publicKey.content = content;
    return bytes(body);
  };

  test.each([
    ['another certificate', () => keyless.details.rekorEntry!.body, () => strangerSigner, /the logged certificate is not the signing certificate/],
    [
      'a certificate for a key-only signer',
      () => keyless.details.rekorEntry!.body,
      () => ({ publicKey: keyless.details.publicKey }),
      /the logged certificate is not the signing certificate/,
    ],
    ['another key', () => keyed.details.rekorEntry!.body, () => ({ publicKey: otherKey }), /the logged public key is not the signing key/],
    ['another key for a certificate signer', () => keyed.details.rekorEntry!.body, () => keylessSigner, /the logged public key is not the signing key/],
    ['intoto 0.0.2 of another signer', () => intoto.details.rekorEntry.body, () => attestationSigner(dsse), /not the signing certificate/],
    ['dsse 0.0.1 of another signer', () => dsse.details.rekorEntry.body, () => attestationSigner(intoto), /not the signing certificate/],
    ['intoto 0.0.1 of another signer', () => intotoV001(stranger.details.certificate.pem), () => keylessSigner, /not the signing certificate/],
    [
      'Rekor v2 with another certificate',
      () => rekorV2('hashedrekord', { certificate: stranger.details.certificate.der }),
      () => keylessSigner,
      /not the signing certificate/,
    ],
    ['Rekor v2 with another key', () => rekorV2('dsse', { key: otherKey }), () => keyedSigner, /not the signing key/],
    ['a body that is not JSON', () => Buffer.from('{"kind":'), () => keylessSigner, /body is not JSON/],
    ['a JSON array', () => bytes([keyless.details.rekorEntry!.body.toString()]), () => keylessSigner, /body is not a JSON object/],
    [
      'an unknown kind',
      () => bytes({ ...json(keyless.details.rekorEntry!.body), kind: 'rekord' }),
      () => keylessSigner,
      /unsupported entry kind rekord 0\.0\.1/,
    ],
    [
      'an unknown version',
      () => bytes({ ...json(keyless.details.rekorEntry!.body), apiVersion: '0.0.9' }),
      () => keylessSigner,
      /unsupported entry kind hashedrekord 0\.0\.9/,
    ],
    ['a verifier that is not base64', () => withHashedrekordVerifier('not base64!'), () => keylessSigner, /spec\.signature\.publicKey\.content is not base64/],
    ['a missing verifier', () => withHashedrekordVerifier(undefined), () => keylessSigner, /is not base64/],
    ['a verifier that is not PEM', () => withHashedrekordVerifier(b64('hello')), () => keylessSigner, /is not a single PEM block/],
    [
      'two PEM blocks (the signer and another)',
      () => withHashedrekordVerifier(b64(keyless.details.certificate.pem + stranger.details.certificate.pem)),
      () => keylessSigner,
      /is not a single PEM block/,
    ],
    [
      'a PEM block of another type',
      () => withHashedrekordVerifier(b64(releaseKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())),
      () => keyedSigner,
      /holds a PRIVATE KEY/,
    ],
    [
      'a PUBLIC KEY block that is not a key',
      () => withHashedrekordVerifier(b64('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')),
      () => keyedSigner,
      /not the signing key/,
    ],
    ['dsse without signatures', () => bytes({ ...json(dsse.details.rekorEntry.body), spec: {} }), () => attestationSigner(dsse), /spec\.signatures is missing/],
    [
      'dsse with an empty signature list',
      () => bytes({ ...json(dsse.details.rekorEntry.body), spec: { signatures: [] } }),
      () => attestationSigner(dsse),
      /names no verifier/,
    ],
    [
      'intoto 0.0.2 without an envelope',
      () => bytes({ ...json(intoto.details.rekorEntry.body), spec: { content: {} } }),
      () => attestationSigner(intoto),
      /envelope\.signatures is missing/,
    ],
    [
      'Rekor v2 dsse without signatures',
      () => bytes({ apiVersion: '0.0.2', kind: 'dsse', spec: { dsseV002: {} } }),
      () => keylessSigner,
      /no verifier in the entry/,
    ],
    [
      'Rekor v2 verifier with neither a certificate nor a key',
      () => bytes({ apiVersion: '0.0.2', kind: 'hashedrekord', spec: { hashedRekordV002: { signature: { verifier: { keyDetails: 'x' } } } } }),
      () => keylessSigner,
      /verifier 0 has neither a certificate nor a public key/,
    ],
  ])('%s', (_name, body, signer, message) => {
    const err = rejection(body(), signer());
    expect(err.code).toBe('TLOG_BODY_MISMATCH');
    expect(err.message).toMatch(/^Rekor entry does not name the signer: /);
    expect(err.message).toMatch(message);
  });

  test('every verifier must be the signer: a dsse entry that adds a second signer is refused', () => {
    const body = json(dsse.details.rekorEntry.body);
    body.spec.signatures.push({ signature: b64('x'), verifier: b64(stranger.details.certificate.pem) });
    expect(rejection(bytes(body), attestationSigner(dsse)).code).toBe('TLOG_BODY_MISMATCH');
  });

  // CI found it (property test below, seed 2064330965): String() of {"toString": null} throws a
  // TypeError, so naming the unsupported kind in the message turned a refusal into a crash.
  test.each(['apiVersion', 'kind'])('a %s whose toString is not a function is refused, not a TypeError', (field) => {
    const body = json(keyless.details.rekorEntry!.body);
    body[field] = JSON.parse('{"toString":null,"valueOf":null}');
    const err = rejection(bytes(body), keylessSigner);
    expect(err.code).toBe('TLOG_BODY_MISMATCH');
    expect(err.message).toMatch(/unsupported entry kind .*an object/);
  });
});

describe('untrusted input (property tests)', () => {
  const expectMismatch = (body: Buffer, signer: SignerKeyMaterial): void => {
    expect(rejection(body, signer).code).toBe('TLOG_BODY_MISMATCH');
  };

  test('arbitrary bytes are refused with TLOG_BODY_MISMATCH, never another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (data) => expectMismatch(Buffer.from(data), keylessSigner)),
      { numRuns: 300 },
    );
  });

  test('arbitrary JSON, and bodies of a known kind with arbitrary specs, are refused', () => {
    const kinds = fc.constantFrom(
      ['hashedrekord', '0.0.1'],
      ['dsse', '0.0.1'],
      ['intoto', '0.0.1'],
      ['intoto', '0.0.2'],
      ['hashedrekord', '0.0.2'],
      ['dsse', '0.0.2'],
    );
    fc.assert(
      fc.property(fc.jsonValue(), kinds, fc.boolean(), (value, [kind, apiVersion], wrap) => {
        expectMismatch(bytes(wrap ? { kind, apiVersion, spec: value } : value), keylessSigner);
      }),
      { numRuns: 300 },
    );
  });

  test('replacing any value of a valid body with another changes the verdict only by refusing', () => {
    const bodies: Array<[Buffer, SignerKeyMaterial]> = [
      [keyless.details.rekorEntry!.body, keylessSigner],
      [keyed.details.rekorEntry!.body, keyedSigner],
      [intoto.details.rekorEntry.body, attestationSigner(intoto)],
      [dsse.details.rekorEntry.body, attestationSigner(dsse)],
    ];
    /** Every path to a leaf value of a JSON document. */
    const leaves = (value: unknown, path: Array<string | number> = []): Array<Array<string | number>> =>
      value !== null && typeof value === 'object'
        ? Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, Array.isArray(value) ? Number(k) : k]))
        : [path];
    fc.assert(
      fc.property(fc.constantFrom(...bodies), fc.nat(), fc.jsonValue(), ([body, signer], pick, replacement) => {
        const doc = json(body);
        const paths = leaves(doc);
        const path = paths[pick % paths.length]!;
        let parent = doc;
        for (const key of path.slice(0, -1)) parent = parent[key];
        const before = parent[path.at(-1)!];
        parent[path.at(-1)!] = replacement;
        const changedVerifier = /publicKey|verifier|kind|apiVersion/.test(path.join('.')) && JSON.stringify(before) !== JSON.stringify(replacement);
        if (changedVerifier) expectMismatch(bytes(doc), signer);
        else expect(() => checkRekorBodyNamesSigner(bytes(doc), signer)).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });

  test('a body naming a random key never vouches for the signer', () => {
    const keys = Array.from({ length: 4 }, () => generateKeyPair('ecdsa-p256').publicKey);
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.constantFrom('hashedrekord', 'dsse'), (key, kind) => {
        expectMismatch(rekorV2(kind, { key }), keyedSigner);
        expectMismatch(rekorV2(kind, { key }), keylessSigner);
      }),
      { numRuns: 20 },
    );
  });
});
