/**
 * Trust material: a Sigstore `trusted_root.json` (Fulcio CAs, Rekor keys, CT log keys,
 * timestamp authorities), validated once when loaded and turned once into the form
 * `@sigstore/verify` consumes. Verifying thousands of signatures reuses the parsed keys.
 *
 * `@sigstore/verify` treats a missing `validFor.start` as "since the beginning of time";
 * the Sigstore specification makes it required and sigstore-conformance expects such a
 * root to be rejected, so validation here is stricter than the library's.
 */
import { readCertificate } from '../util/certificate';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { ImgverifyError } from '../errors';
import { forVerification } from './cached-certificate';
import { decodeBase64, type Bytes } from '../util/encoding';
import { isRecord } from '../util/shape';
import { readBoundedFileSync } from '../util/bounded-file';
import { errorMessage } from '../util/describe';

const TRUSTED_ROOT_MEDIA_TYPES = new Set([
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.1+json',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
]);

/** A trusted root file is small (the production one is 9 KB); anything huge is a mistake. */
const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024;

/** Trust material, validated and parsed once; pass it as `trustedRoot` to share it between verifiers. */
export interface LoadedTrustRoot {
  /** Where it came from, for messages: a file path, `embedded public-good`, or `object`. */
  readonly source: string;
  /** @internal The parsed trusted root (protobuf-specs form). */
  readonly trustedRoot: TrustedRoot;
  /**
   * @internal Keys and certificates parsed once, for `@sigstore/verify`. Key lookups by hint fail.
   * CA and TSA certificates are CachedCertificate anchors: their keys, encodings and the
   * signatures between them are computed once per loaded root (./cached-certificate.ts).
   */
  readonly material: TrustMaterial;
}

function invalid(source: string, why: string, cause?: unknown): ImgverifyError {
  return new ImgverifyError('TRUST_ROOT_INVALID', `trusted root (${source}) is invalid: ${why}`, {
    cause,
    details: { source },
  });
}

function requireBase64(value: unknown, where: string, source: string): Bytes {
  const bytes = decodeBase64(value);
  if (!bytes || bytes.length === 0) throw invalid(source, `${where} is not base64`);
  return bytes;
}

function requireTime(value: unknown, where: string, source: string): void {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
    throw invalid(source, `${where} is missing or not an RFC 3339 time`);
  }
}

function checkValidFor(validFor: unknown, where: string, source: string): void {
  if (!isRecord(validFor)) throw invalid(source, `${where}.validFor is missing`);
  requireTime(validFor.start, `${where}.validFor.start`, source);
  // proto3 JSON writes an absent optional field as null too (seen in real trusted roots).
  if (validFor.end !== undefined && validFor.end !== null) {
    requireTime(validFor.end, `${where}.validFor.end`, source);
    if (Date.parse(validFor.end as string) < Date.parse(validFor.start as string)) {
      throw invalid(source, `${where}.validFor ends before it starts`);
    }
  }
}

function checkLogs(list: unknown, name: string, source: string, required: boolean): void {
  if (list === undefined && !required) return;
  if (!Array.isArray(list)) throw invalid(source, `"${name}" must be an array`);
  list.forEach((log, i) => {
    const where = `${name}[${i}]`;
    if (!isRecord(log)) throw invalid(source, `${where} is not an object`);
    if (!isRecord(log.publicKey)) throw invalid(source, `${where}.publicKey is missing`);
    requireBase64(log.publicKey.rawBytes, `${where}.publicKey.rawBytes`, source);
    if (typeof log.publicKey.keyDetails !== 'string') throw invalid(source, `${where}.publicKey.keyDetails is missing`);
    checkValidFor(log.publicKey.validFor, `${where}.publicKey`, source);
    if (!isRecord(log.logId)) throw invalid(source, `${where}.logId is missing`);
    requireBase64(log.logId.keyId, `${where}.logId.keyId`, source);
  });
}

function checkAuthorities(list: unknown, name: string, source: string, required: boolean): void {
  if (list === undefined && !required) return;
  if (!Array.isArray(list)) throw invalid(source, `"${name}" must be an array`);
  list.forEach((ca, i) => {
    const where = `${name}[${i}]`;
    if (!isRecord(ca)) throw invalid(source, `${where} is not an object`);
    if (!isRecord(ca.certChain) || !Array.isArray(ca.certChain.certificates) || ca.certChain.certificates.length === 0) {
      throw invalid(source, `${where}.certChain.certificates is missing or empty`);
    }
    ca.certChain.certificates.forEach((cert: unknown, j: number) => {
      const der = requireBase64(isRecord(cert) ? cert.rawBytes : undefined, `${where}.certChain.certificates[${j}].rawBytes`, source);
      try {
        readCertificate(der);
      } catch (err) {
        throw invalid(source, `${where}.certChain.certificates[${j}] is not a DER X.509 certificate`, err);
      }
    });
    checkValidFor(ca.validFor, where, source);
  });
}

/** The same material, its certificate chains as CachedCertificate anchors (same parsed trees). */
function withAnchors(material: TrustMaterial): TrustMaterial {
  const anchors = (cas: TrustMaterial['certificateAuthorities']) =>
    cas.map((ca) => ({ ...ca, certChain: ca.certChain.map((cert) => forVerification(cert, true)) }));
  return {
    ...material,
    certificateAuthorities: anchors(material.certificateAuthorities),
    timestampAuthorities: anchors(material.timestampAuthorities),
  };
}

/** Validates the JSON form of a trusted root and parses it once. */
export function trustRootFromJSON(json: unknown, source = 'object'): LoadedTrustRoot {
  if (!isRecord(json)) throw invalid(source, 'not a JSON object');
  if (typeof json.mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPES.has(json.mediaType)) {
    throw invalid(source, `unsupported mediaType ${JSON.stringify(json.mediaType)}`);
  }
  // GitHub's instance for private repositories lists no transparency log at all (no "tlogs"
  // key, no "ctlogs" key: `gh attestation trusted-root`, its second line); ./verify/policy-checks.ts
  // then asks for RFC 3161 timestamps instead of log entries.
  checkLogs(json.tlogs, 'tlogs', source, false);
  checkLogs(json.ctlogs, 'ctlogs', source, false);
  checkAuthorities(json.certificateAuthorities, 'certificateAuthorities', source, false);
  checkAuthorities(json.timestampAuthorities, 'timestampAuthorities', source, false);

  let trustedRoot: TrustedRoot;
  let material: TrustMaterial;
  try {
    trustedRoot = TrustedRoot.fromJSON(json);
    material = withAnchors(toTrustMaterial(trustedRoot));
  } catch (err) {
    throw invalid(source, `cannot parse keys: ${errorMessage(err)}`, err);
  }
  return Object.freeze({ source, trustedRoot, material });
}

/** Parses trusted-root JSON text (or bytes). */
export function trustRootFromText(text: string | Buffer, source: string): LoadedTrustRoot {
  if (text.length > MAX_TRUSTED_ROOT_BYTES) throw invalid(source, `larger than ${MAX_TRUSTED_ROOT_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch (err) {
    throw invalid(source, `not valid JSON (${errorMessage(err)})`, err);
  }
  return trustRootFromJSON(json, source);
}

/** Reads (a regular file, at most MAX_TRUSTED_ROOT_BYTES, bounded while reading) and validates a `trusted_root.json` file. */
export function trustRootFromFile(path: string): LoadedTrustRoot {
  let text: Buffer;
  try {
    text = readBoundedFileSync(path, MAX_TRUSTED_ROOT_BYTES);
  } catch (err) {
    throw invalid(path, `cannot read file: ${errorMessage(err)}`, err);
  }
  return trustRootFromText(text, path);
}
