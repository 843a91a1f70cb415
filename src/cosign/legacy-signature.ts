/**
 * cosign's legacy signature layer (one layer of the `sha256-<hex>.sig` manifest) decoded
 * into typed, validated parts, and adapted to the bundle v0.1 shape that
 * `@sigstore/verify` verifies: message signature over the payload, the Fulcio leaf
 * certificate, the Rekor entry with its SET as inclusion promise.
 *
 * The annotations come from the registry: every field is checked for shape and encoding,
 * and nothing is trusted until `@sigstore/verify` and our own checks have passed.
 */
import { createHash } from 'node:crypto';
import { readCertificate } from '../util/certificate';
import type { Bundle, TransparencyLogEntry } from '@sigstore/bundle';
import { BUNDLE_V01_MEDIA_TYPE } from '@sigstore/bundle';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { ImgverifyError } from '../errors';
import type { DsseEnvelope } from './dsse';
import { decodeBase64, decodeHex, decodePem, type Bytes } from '../util/encoding';
import { isRecord } from '../util/shape';
import { ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN, ANNOTATION_RFC3161_TIMESTAMP, ANNOTATION_SIGNATURE } from './annotations';
import { errorMessage } from '../util/describe';

/** The Rekor entry cosign stores in `dev.sigstore.cosign/bundle`. */
export interface RekorBundle {
  readonly signedEntryTimestamp: Buffer;
  readonly body: Buffer;
  readonly integratedTime: number;
  readonly logIndex: number;
  readonly logID: Buffer;
}

export interface LegacySignature {
  readonly signature: Buffer;
  /** DER of the leaf certificate; absent for key-based signatures. */
  readonly certificate?: Bytes;
  /** DER of the chain certificates cosign stored (informational: trust comes from the trusted root). */
  readonly chain: readonly Buffer[];
  readonly rekorBundle?: RekorBundle;
  /** DER RFC 3161 timestamp token, when the signer requested one. */
  readonly rfc3161Timestamp?: Buffer;
}

function malformed(what: string, why: string): ImgverifyError {
  return new ImgverifyError('SIGNATURE_MALFORMED', `${what}: ${why}`);
}

/** Every certificate of a PEM text (DER), each checked to be X.509; SIGNATURE_MALFORMED naming `what` otherwise. */
export function certificatesFromPem(text: string, what: string): Bytes[] {
  const blocks = decodePem(text);
  if (!blocks) throw malformed(what, 'not PEM');
  return blocks.map((block) => {
    if (block.type !== 'CERTIFICATE') throw malformed(what, `PEM block of type ${block.type}, expected CERTIFICATE`);
    try {
      readCertificate(block.der);
    } catch (err) {
      throw malformed(what, `not an X.509 certificate (${errorMessage(err)})`);
    }
    return block.der;
  });
}

/**
 * Chain annotations already decoded and checked, by their exact text. Every signature from
 * one Fulcio intermediate carries the same chain annotation (intermediate and root), so a
 * batch parses it once rather than once per signature. Decoding is a function of the text
 * alone, so a hit returns what decoding that text returned before. Bounded in entries and
 * in the size of a remembered text (a two-certificate chain is about 2 KB).
 */
const CHAIN_MEMO_ENTRIES = 16;
const CHAIN_MEMO_MAX_TEXT = 16 * 1024;
const decodedChains = new Map<string, readonly Bytes[]>();

function chainFromPem(text: string): Bytes[] {
  const known = decodedChains.get(text);
  if (known) return [...known];
  const chain = certificatesFromPem(text, `annotation ${ANNOTATION_CHAIN}`);
  if (text.length <= CHAIN_MEMO_MAX_TEXT) {
    if (decodedChains.size >= CHAIN_MEMO_ENTRIES) decodedChains.delete(decodedChains.keys().next().value!);
    decodedChains.set(text, chain);
  }
  return [...chain];
}

function safeInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

export function parseRekorBundle(text: string, what = `annotation ${ANNOTATION_BUNDLE}`): RekorBundle {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed(what, 'not JSON');
  }
  if (!isRecord(json) || !isRecord(json.Payload)) throw malformed(what, 'missing Payload');
  const signedEntryTimestamp = decodeBase64(json.SignedEntryTimestamp);
  if (!signedEntryTimestamp || signedEntryTimestamp.length === 0) throw malformed(what, 'SignedEntryTimestamp is not base64');
  const body = decodeBase64(json.Payload.body);
  if (!body || body.length === 0) throw malformed(what, 'Payload.body is not base64');
  const integratedTime = safeInteger(json.Payload.integratedTime);
  if (integratedTime === undefined) throw malformed(what, 'Payload.integratedTime is not a non-negative integer');
  const logIndex = safeInteger(json.Payload.logIndex);
  if (logIndex === undefined) throw malformed(what, 'Payload.logIndex is not a non-negative integer');
  const logID = decodeHex(json.Payload.logID);
  if (!logID || logID.length !== 32) throw malformed(what, 'Payload.logID is not a 32-byte hex log ID');
  return { signedEntryTimestamp, body, integratedTime, logIndex, logID };
}

function parseTimestampAnnotation(text: string): Buffer {
  const what = `annotation ${ANNOTATION_RFC3161_TIMESTAMP}`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed(what, 'not JSON');
  }
  const token = isRecord(json) ? decodeBase64(json.SignedRFC3161Timestamp) : undefined;
  if (!token || token.length === 0) throw malformed(what, 'SignedRFC3161Timestamp is not base64');
  return token;
}

/**
 * Decodes a `.sig` / `.att` layer's annotations. Throws SIGNATURE_MALFORMED naming the bad
 * annotation. For `.att` layers pass the DSSE envelope's signature.
 */
export function parseLegacySignature(annotations: Readonly<Record<string, string>>, envelopeSignature?: Bytes): LegacySignature {
  // An attestation's signature is inside its DSSE envelope (cosign leaves the annotation empty).
  let signature = envelopeSignature;
  if (!signature) {
    const sigText = annotations[ANNOTATION_SIGNATURE];
    if (sigText === undefined) throw malformed('signature layer', `annotation ${ANNOTATION_SIGNATURE} is missing`);
    signature = decodeBase64(sigText);
    if (!signature || signature.length === 0) throw malformed(`annotation ${ANNOTATION_SIGNATURE}`, 'not base64');
  }

  const certText = annotations[ANNOTATION_CERTIFICATE];
  let certificate: Bytes | undefined;
  if (certText !== undefined && certText !== '') {
    const certs = certificatesFromPem(certText, `annotation ${ANNOTATION_CERTIFICATE}`);
    if (certs.length !== 1) throw malformed(`annotation ${ANNOTATION_CERTIFICATE}`, `holds ${certs.length} certificates, expected 1`);
    certificate = certs[0];
  }
  const chainText = annotations[ANNOTATION_CHAIN];
  const chain = chainText !== undefined && chainText !== '' ? chainFromPem(chainText) : [];
  const bundleText = annotations[ANNOTATION_BUNDLE];
  const rekorBundle = bundleText !== undefined && bundleText !== '' ? parseRekorBundle(bundleText) : undefined;
  const tsText = annotations[ANNOTATION_RFC3161_TIMESTAMP];
  const rfc3161Timestamp = tsText !== undefined && tsText !== '' ? parseTimestampAnnotation(tsText) : undefined;
  return {
    signature,
    ...(certificate ? { certificate } : {}),
    chain,
    ...(rekorBundle ? { rekorBundle } : {}),
    ...(rfc3161Timestamp ? { rfc3161Timestamp } : {}),
  };
}

/** The `kind`/`apiVersion` of a Rekor body, read without trusting anything else in it. */
export function rekorKindVersion(body: Buffer): { kind: string; version: string } {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ImgverifyError('TLOG_BODY_MISMATCH', 'Rekor entry body is not JSON');
  }
  if (!isRecord(json) || typeof json.kind !== 'string' || typeof json.apiVersion !== 'string') {
    throw new ImgverifyError('TLOG_BODY_MISMATCH', 'Rekor entry body has no kind/apiVersion');
  }
  return { kind: json.kind, version: json.apiVersion };
}

function rekorBundleToTLogEntry(rekor: RekorBundle): TransparencyLogEntry {
  return {
    logIndex: String(rekor.logIndex),
    logId: { keyId: rekor.logID },
    kindVersion: rekorKindVersion(rekor.body),
    integratedTime: String(rekor.integratedTime),
    inclusionPromise: { signedEntryTimestamp: rekor.signedEntryTimestamp },
    inclusionProof: undefined,
    canonicalizedBody: rekor.body,
  };
}

/** What a legacy layer signs: a simple-signing payload (`.sig`) or a DSSE envelope (`.att`). */
export type LegacyContent =
  | { readonly kind: 'message'; readonly payload: Buffer; readonly hash: 'sha256' | 'sha384' | 'sha512' }
  | { readonly kind: 'dsse'; readonly envelope: DsseEnvelope };

const HASH_ALGORITHMS = {
  sha256: HashAlgorithm.SHA2_256,
  sha384: HashAlgorithm.SHA2_384,
  sha512: HashAlgorithm.SHA2_512,
} as const;

/**
 * The hash a hashedrekord entry was made with (cosign uses SHA-256 unless a key's algorithm
 * calls for another). Only read to pick the digest to compare; the entry itself is checked
 * by `@sigstore/verify`.
 */
export function hashedRekordHash(rekor: RekorBundle | undefined): 'sha256' | 'sha384' | 'sha512' {
  if (!rekor) return 'sha256';
  try {
    const algorithm = (JSON.parse(rekor.body.toString('utf8')) as { spec?: { data?: { hash?: { algorithm?: unknown } } } }).spec?.data?.hash?.algorithm;
    return algorithm === 'sha384' || algorithm === 'sha512' ? algorithm : 'sha256';
  } catch {
    return 'sha256';
  }
}

/**
 * The legacy signature as a bundle v0.1. `publicKeyHint` is used for key-based signatures
 * (no certificate), where the verifier looks the key up by hint.
 */
export function legacySignatureToBundle(sig: LegacySignature, content: LegacyContent, publicKeyHint = ''): Bundle {
  const tlogEntries = sig.rekorBundle ? [rekorBundleToTLogEntry(sig.rekorBundle)] : [];
  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      content: sig.certificate
        ? { $case: 'x509CertificateChain', x509CertificateChain: { certificates: [{ rawBytes: sig.certificate }] } }
        : { $case: 'publicKey', publicKey: { hint: publicKeyHint } },
      tlogEntries,
      timestampVerificationData: {
        rfc3161Timestamps: sig.rfc3161Timestamp ? [{ signedTimestamp: sig.rfc3161Timestamp }] : [],
      },
    },
    content:
      content.kind === 'message'
        ? {
            $case: 'messageSignature',
            messageSignature: {
              messageDigest: { algorithm: HASH_ALGORITHMS[content.hash], digest: createHash(content.hash).update(content.payload).digest() },
              signature: sig.signature,
            },
          }
        : {
            $case: 'dsseEnvelope',
            dsseEnvelope: {
              payload: content.envelope.payload,
              payloadType: content.envelope.payloadType,
              signatures: content.envelope.signatures.map((s) => ({ sig: s.sig, keyid: s.keyid })),
            },
          },
  };
}
