/**
 * Bundle validation rules that `@sigstore/bundle` / `@sigstore/verify` leave to callers:
 * media types, base64, non-negative integers, oneofs, certificate chains, per-version
 * requirements. Each malformed variant of a valid bundle is refused as SIGNATURE_MALFORMED
 * naming the field; each tolerated encoding variant still verifies.
 */
import { createHash } from 'node:crypto';
import { ImgverifyError } from '../../../src/errors';
import { parseBundle } from '../../../src/bundle/parse';
import { trustRootFromJSON } from '../../../src/trust/trusted-root';
import { checksFor, verifyBundle } from '../../support/verify';
import { DEFAULT_ISSUER, createTestSigstore, legacyLayerToBundle } from '../../support/sigstore';
import type { JsonObject } from '../../support/json';

const SIGNER = 'release@example.test';
const sigstore = createTestSigstore();
const ctx = checksFor(trustRootFromJSON(sigstore.trustedRoot, 'test'), { subject: SIGNER, issuer: DEFAULT_ISSUER });
const layer = sigstore.signImage({ digest: `sha256:${'ab'.repeat(32)}`, identity: { email: SIGNER } });
const artifact = { sha256: createHash('sha256').update(layer.payload).digest('hex') };
const entry = layer.details.rekorEntry!;

/** A fresh valid bundle: v0.1, or v0.2 / v0.3 with an inclusion proof. */
function valid(version: '0.1' | '0.2' | '0.3' = '0.1'): JsonObject {
  const json = JSON.parse(
    JSON.stringify(legacyLayerToBundle(layer, version === '0.1' ? {} : { inclusionProof: sigstore.rekor.inclusionProof(entry) })),
  ) as JsonObject;
  if (version === '0.3') {
    json.mediaType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
    json.verificationMaterial.certificate = json.verificationMaterial.x509CertificateChain.certificates[0];
    delete json.verificationMaterial.x509CertificateChain;
  }
  return json;
}

function malformedMessage(json: unknown): string {
  try {
    parseBundle(json);
  } catch (err) {
    expect(err).toBeInstanceOf(ImgverifyError);
    expect((err as ImgverifyError).code).toBe('SIGNATURE_MALFORMED');
    return (err as ImgverifyError).message;
  }
  throw new Error('the bundle was accepted');
}

function mutated(version: '0.1' | '0.2' | '0.3', change: (b: JsonObject) => void): JsonObject {
  const b = valid(version);
  change(b);
  return b;
}

const der = (cert: Buffer) => ({ rawBytes: cert.toString('base64') });
const fulcioChain = layer.details.certificate.chain; // [intermediate, root]

test('the valid bundles verify (baseline)', () => {
  for (const version of ['0.1', '0.2', '0.3'] as const) expect(verifyBundle(valid(version), artifact, ctx).signer.subject).toBe(SIGNER);
});

describe('refused', () => {
  const CASES: Array<[string, '0.1' | '0.2' | '0.3', (b: JsonObject) => void, RegExp]> = [
    ['unknown media type version', '0.1', (b) => (b.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=99.9'), /unsupported media type/],
    ['a plausible but unknown version', '0.1', (b) => (b.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.9'), /unsupported media type/],
    ['no media type', '0.1', (b) => delete b.mediaType, /unsupported media type/],
    [
      'both message signature and DSSE envelope',
      '0.1',
      (b) => (b.dsseEnvelope = { payloadType: 'x', payload: 'eA==', signatures: [{ sig: 'eA==' }] }),
      /exactly one of messageSignature, dsseEnvelope/,
    ],
    ['no content', '0.1', (b) => delete b.messageSignature, /exactly one of messageSignature, dsseEnvelope/],
    [
      'invalid base64 signature',
      '0.1',
      (b) => (b.messageSignature.signature = 'INVALID!!!BASE64!!!ENCODING===='),
      /messageSignature\.signature is not valid base64/,
    ],
    ['empty signature', '0.1', (b) => (b.messageSignature.signature = ''), /messageSignature\.signature is empty/],
    ['signature that is not a string', '0.1', (b) => (b.messageSignature.signature = 42), /not a base64 string/],
    ['impossible base64 length', '0.1', (b) => (b.messageSignature.signature = 'AAAAA'), /not valid base64/],
    [
      'invalid base64 log entry body',
      '0.1',
      (b) => (b.verificationMaterial.tlogEntries[0].canonicalizedBody = '{not base64}'),
      /canonicalizedBody is not valid base64/,
    ],
    ['invalid base64 log ID', '0.1', (b) => (b.verificationMaterial.tlogEntries[0].logId.keyId = '%%%'), /logId\.keyId/],
    ['negative log index', '0.1', (b) => (b.verificationMaterial.tlogEntries[0].logIndex = '-1'), /logIndex must be a non-negative integer, got "-1"/],
    ['negative log index as a number', '0.1', (b) => (b.verificationMaterial.tlogEntries[0].logIndex = -1), /logIndex must be a non-negative integer/],
    ['non-decimal log index', '0.1', (b) => (b.verificationMaterial.tlogEntries[0].logIndex = '0x10'), /logIndex/],
    ['negative integrated time', '0.1', (b) => (b.verificationMaterial.tlogEntries[0].integratedTime = '-5'), /integratedTime/],
    ['negative tree size', '0.2', (b) => (b.verificationMaterial.tlogEntries[0].inclusionProof.treeSize = '-1'), /treeSize/],
    ['negative proof log index', '0.2', (b) => (b.verificationMaterial.tlogEntries[0].inclusionProof.logIndex = '-3'), /inclusionProof\.logIndex/],
    ['invalid base64 proof hash', '0.2', (b) => (b.verificationMaterial.tlogEntries[0].inclusionProof.hashes = ['@@']), /hashes\[0\]/],
    ['no kind/version', '0.1', (b) => delete b.verificationMaterial.tlogEntries[0].kindVersion, /kindVersion must be an object/],
    ['no verification material', '0.1', (b) => delete b.verificationMaterial, /verificationMaterial must be an object/],
    [
      'both a certificate chain and a public key',
      '0.1',
      (b) => (b.verificationMaterial.publicKey = { hint: 'x' }),
      /exactly one of publicKey, x509CertificateChain, certificate/,
    ],
    ['empty certificate chain', '0.1', (b) => (b.verificationMaterial.x509CertificateChain.certificates = []), /has no certificate/],
    [
      'a certificate that is not DER',
      '0.1',
      (b) => (b.verificationMaterial.x509CertificateChain.certificates = [{ rawBytes: 'aGVsbG8=' }]),
      /not a DER X\.509 certificate/,
    ],
    [
      'a CA certificate in the leaf position',
      '0.1',
      (b) => (b.verificationMaterial.x509CertificateChain.certificates = [der(fulcioChain[0]!)]),
      /CA certificate, not the signing \(leaf\) certificate/,
    ],
    ['a CA certificate as the v0.3 certificate', '0.3', (b) => (b.verificationMaterial.certificate = der(fulcioChain[0]!)), /CA certificate/],
    [
      'a certificate chain in a v0.3 bundle',
      '0.3',
      (b) => {
        b.verificationMaterial.x509CertificateChain = { certificates: [b.verificationMaterial.certificate] };
        delete b.verificationMaterial.certificate;
      },
      /verificationMaterial\.content\.\$case/,
    ],
    ['v0.1 entry without an inclusion promise', '0.1', (b) => delete b.verificationMaterial.tlogEntries[0].inclusionPromise, /inclusionPromise/],
    ['v0.2 entry without an inclusion proof', '0.2', (b) => delete b.verificationMaterial.tlogEntries[0].inclusionProof, /inclusionProof/],
    ['v0.2 proof without a checkpoint', '0.2', (b) => delete b.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint, /inclusionProof\.checkpoint/],
    ['v0.3 entry without an inclusion proof', '0.3', (b) => delete b.verificationMaterial.tlogEntries[0].inclusionProof, /inclusionProof/],
    ['a message signature without a digest', '0.1', (b) => delete b.messageSignature.messageDigest, /messageDigest must be an object/],
    [
      'an RFC 3161 token that is not base64',
      '0.1',
      (b) => (b.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [{ signedTimestamp: '!' }] }),
      /signedTimestamp/,
    ],
    ['a bundle that is not an object', '0.1', () => undefined, /./],
  ];

  test.each(CASES)('%s', (_name, version, change, message) => {
    const bundle = _name === 'a bundle that is not an object' ? ['not', 'an', 'object'] : mutated(version, change);
    expect(malformedMessage(bundle)).toMatch(message);
  });

  test('truncated JSON text', () => {
    expect(malformedMessage(JSON.stringify(valid()).slice(0, 200))).toMatch(/not valid JSON/);
  });

  test('an RFC 3161 token that is base64 but not DER fails cleanly, not with a TypeError', () => {
    const b = mutated('0.1', (x) => (x.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [{ signedTimestamp: 'aGVsbG8=' }] }));
    let error: unknown;
    try {
      verifyBundle(b, artifact, ctx);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ImgverifyError);
    expect((error as ImgverifyError).code).toBe('SIGNATURE_MALFORMED');
  });
});

describe('tolerated', () => {
  test('URL-safe and unpadded base64 (protobuf JSON accepts both)', () => {
    const b = valid();
    const sig = Buffer.from(b.messageSignature.signature, 'base64');
    b.messageSignature.signature = sig.toString('base64url');
    expect(verifyBundle(b, artifact, ctx).signer.subject).toBe(SIGNER);
  });

  test('base64 wrapped at 76 columns (as `base64` writes it; Go and Python decoders skip line breaks)', () => {
    const b = valid();
    const body: string = b.verificationMaterial.tlogEntries[0].canonicalizedBody;
    b.verificationMaterial.tlogEntries[0].canonicalizedBody = body.replace(/(.{76})/g, '$1\n');
    expect(verifyBundle(b, artifact, ctx).signer.subject).toBe(SIGNER);
  });

  test('a v0.1 inclusion proof without a checkpoint is dropped; the inclusion promise is verified', () => {
    const b = valid('0.2');
    b.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
    delete b.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint;
    expect(parseBundle(b).verificationMaterial.tlogEntries[0]!.inclusionProof).toBeUndefined();
    expect(verifyBundle(b, artifact, ctx).signer.subject).toBe(SIGNER);
  });

  test('intermediates and a root after the leaf are ignored (the chain is built from the trusted root)', () => {
    const b = valid();
    b.verificationMaterial.x509CertificateChain.certificates.push(der(fulcioChain[0]!), der(fulcioChain[1]!));
    expect(verifyBundle(b, artifact, ctx).signer.subject).toBe(SIGNER);
  });

  test('the legacy v0.3 media type and a Rekor v2-style entry without integrated time parse', () => {
    const b = valid('0.3');
    b.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.3';
    expect(parseBundle(b).mediaType).toBe('application/vnd.dev.sigstore.bundle+json;version=0.3');
    delete b.verificationMaterial.tlogEntries[0].integratedTime;
    expect(parseBundle(b).verificationMaterial.tlogEntries[0]!.integratedTime).toBe('0');
  });
});
