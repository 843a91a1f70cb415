/**
 * A signed file (`cosign sign-blob` output) as input to the one algorithm (../core.ts), in the
 * three shapes cosign verify-blob reads. Decoding only; every check is the core's.
 *
 *   - a signature and a certificate (or a key), as separate files: the Kubernetes release
 *     binaries' `<name>.sig` (base64 signature) and `<name>.cert` (base64 of a PEM certificate).
 *     Their log entry is not in the files: the caller looks it up (../../rekor/client.ts) and
 *     hands it in, unverified; the core verifies it like any other;
 *   - cosign's own bundle JSON (`cosign sign-blob --bundle`, before Sigstore bundles):
 *     `{base64Signature, cert (base64 of PEM), rekorBundle {SignedEntryTimestamp, Payload}}`;
 *   - a Sigstore bundle (v0.1–v0.3): ./bundle.ts.
 *
 * All become a bundle whose message signature is over the artifact's bytes.
 */
import type { TransparencyLogEntry } from '@sigstore/bundle';
import { certificatesFromPem, hashedRekordHash, legacySignatureToBundle, parseRekorBundle, type LegacySignature } from '../../cosign/legacy-signature';
import { ImgverifyError } from '../../errors';
import { decodeBase64, type Bytes } from '../../util/encoding';
import { isRecord } from '../../util/shape';
import type { Artifact, SignatureInput } from '../core';
import { artifactBundleInput } from './bundle';
import { errorMessage } from '../../util/describe';

/** A signature over a file, in any of the shapes cosign verify-blob takes. */
export interface BlobSignature {
  /** The signature: base64 text (cosign's `.sig` files) or raw bytes. */
  readonly signature?: string | Buffer;
  /** The signing certificate: PEM, or base64 of PEM (the Kubernetes `.cert` files). */
  readonly certificate?: string | Buffer;
  /** PEM certificates after the leaf (cosign --certificate-chain). Never used for trust: the chain is built from the trusted root. */
  readonly certificateChain?: string | Buffer;
  /** A Sigstore bundle, or cosign's older bundle JSON (`base64Signature`, `cert`, `rekorBundle`): text, bytes or parsed JSON. */
  readonly bundle?: unknown;
}

/** Most bytes of a signature or certificate file (a few KB in practice). */
const MAX_SIGNATURE_FILE_BYTES = 256 * 1024;

function malformed(what: string, why: string): ImgverifyError {
  return new ImgverifyError('SIGNATURE_MALFORMED', `${what}: ${why}`);
}

function text(value: string | Buffer): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}

/**
 * A signature file's signature: base64 (what `cosign sign-blob` writes, white space around it
 * ignored), else the raw bytes, as cosign does.
 */
export function decodeSignature(value: string | Buffer): Buffer {
  if (value.length === 0) throw malformed('signature', 'empty');
  if (value.length > MAX_SIGNATURE_FILE_BYTES) throw malformed('signature', `larger than ${MAX_SIGNATURE_FILE_BYTES} bytes`);
  const decoded = decodeBase64(text(value).trim());
  if (decoded && decoded.length > 0) return decoded;
  if (typeof value === 'string') throw malformed('signature', 'not base64');
  return value;
}

function certificatesFrom(value: string | Buffer, what: string): Bytes[] {
  if (value.length > MAX_SIGNATURE_FILE_BYTES) throw malformed(what, `larger than ${MAX_SIGNATURE_FILE_BYTES} bytes`);
  let pem = text(value).trim();
  if (!pem.startsWith('-----BEGIN')) {
    // The Kubernetes release `.cert` files are base64 of the PEM.
    const decoded = decodeBase64(pem.replace(/\s+/g, ''));
    if (!decoded) throw malformed(what, 'neither PEM nor base64 of PEM');
    pem = decoded.toString('utf8').trim();
  }
  return certificatesFromPem(pem, what);
}

/** The leaf certificate (DER) from PEM or base64 of PEM: exactly one certificate. */
export function decodeCertificate(value: string | Buffer): Bytes {
  const certs = certificatesFrom(value, 'certificate');
  if (certs.length !== 1) throw malformed('certificate', `holds ${certs.length} certificates, expected 1 (give the others with the certificate chain)`);
  return certs[0]!;
}

/** Which shape a bundle is: a Sigstore bundle (has a mediaType) or cosign's own. */
function parseJSON(value: unknown): unknown {
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) return value;
  if (value.length > MAX_SIGNATURE_FILE_BYTES * 128) throw malformed('bundle', 'too large');
  try {
    return JSON.parse(text(value));
  } catch (err) {
    throw malformed('bundle', `not valid JSON (${errorMessage(err)})`);
  }
}

function isCosignBundle(json: unknown): boolean {
  return isRecord(json) && 'base64Signature' in json && !('mediaType' in json);
}

/**
 * The message signature over `artifact` (its bytes, or its digest for a file too large to hold),
 * with the given or looked-up log entries.
 */
function messageInput(artifact: Artifact, sig: LegacySignature, tlogEntries?: readonly TransparencyLogEntry[]): SignatureInput {
  const hash = 'bytes' in artifact ? hashedRekordHash(sig.rekorBundle) : artifact.digest.algorithm;
  const bundle = legacySignatureToBundle(sig, { kind: 'message', payload: 'bytes' in artifact ? artifact.bytes : Buffer.alloc(0), hash });
  if (!('bytes' in artifact) && bundle.content.$case === 'messageSignature') {
    // Only the digest is known: it is what the signature is verified over (the bundle's own field is a hint).
    bundle.content.messageSignature.messageDigest = {
      algorithm: bundle.content.messageSignature.messageDigest?.algorithm ?? 0,
      digest: Buffer.from(artifact.digest.hex, 'hex'),
    };
  }
  if (tlogEntries) bundle.verificationMaterial.tlogEntries = [...tlogEntries];
  if (sig.chain.length > 0 && bundle.verificationMaterial.content?.$case === 'x509CertificateChain') {
    bundle.verificationMaterial.content.x509CertificateChain.certificates.push(...sig.chain.map((rawBytes) => ({ rawBytes })));
  }
  return {
    bundle,
    artifact,
    subject: { kind: 'artifact' },
    // cosign verify-blob --key ignores a certificate given with it.
    certificateUnderKeyPolicy: 'ignore',
  };
}

/** A signature with its certificate or key (no bundle): the log entries are the caller's lookup. */
export function detachedSignatureInput(artifact: Artifact, material: BlobSignature, tlogEntries: readonly TransparencyLogEntry[]): SignatureInput {
  if (material.signature === undefined) throw new ImgverifyError('INVALID_OPTIONS', 'a signature is required (or a bundle)');
  const signature = decodeSignature(material.signature);
  const certificate = material.certificate !== undefined ? decodeCertificate(material.certificate) : undefined;
  const chain = material.certificateChain !== undefined ? certificatesFrom(material.certificateChain, 'certificate chain') : [];
  return messageInput(artifact, { signature, ...(certificate ? { certificate } : {}), chain }, tlogEntries);
}

/** cosign's older bundle JSON (`cosign sign-blob --bundle`), parsed or as text. */
function cosignBundleInput(artifact: Artifact, json: unknown): SignatureInput {
  if (!isRecord(json)) throw malformed('cosign bundle', 'not a JSON object');
  const signature = decodeBase64(json.base64Signature);
  if (!signature || signature.length === 0) throw malformed('cosign bundle', 'base64Signature is not base64');
  const certificate =
    json.cert !== undefined && json.cert !== '' ? decodeCertificate(typeof json.cert === 'string' ? json.cert : JSON.stringify(json.cert)) : undefined;
  const rekorBundle =
    json.rekorBundle !== undefined && json.rekorBundle !== null ? parseRekorBundle(JSON.stringify(json.rekorBundle), 'cosign bundle rekorBundle') : undefined;
  return messageInput(artifact, { signature, ...(certificate ? { certificate } : {}), chain: [], ...(rekorBundle ? { rekorBundle } : {}) });
}

/** A bundle of either shape for `artifact`. */
export function blobBundleInput(artifact: Artifact, bundle: unknown): SignatureInput {
  const json = parseJSON(bundle);
  if (isCosignBundle(json)) return cosignBundleInput(artifact, json);
  return artifactBundleInput(json, 'bytes' in artifact ? { bytes: artifact.bytes } : { digest: `${artifact.digest.algorithm}:${artifact.digest.hex}` });
}
