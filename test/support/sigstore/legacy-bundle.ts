// Converts a cosign legacy `.sig` or `.att` layer (blob + annotations) into a Sigstore bundle that
// @sigstore/verify understands: v0.1 (SET as inclusion promise) or v0.2 (with an inclusion
// proof and checkpoint). Test support: the self-checks use it to prove that what the test
// Sigstore mints verifies, and to check the same conversion against real cosign signatures.
import type { SerializedBundle } from '@sigstore/bundle';
import { DSSE_MEDIA_TYPE } from './attest';
import type { CosignLayer } from './simple-signing';
import { COSIGN_ANNOTATIONS } from './simple-signing';
import { fromPem } from './keys';
import type { InclusionProof } from './rekor';
import crypto from 'node:crypto';

const BUNDLE_V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
const BUNDLE_V02 = 'application/vnd.dev.sigstore.bundle+json;version=0.2';

/** The `dev.sigstore.cosign/bundle` annotation, parsed. */
export interface CosignRekorBundle {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

export interface LegacyBundleOptions {
  /** Adds an inclusion proof + checkpoint (bundle v0.2). */
  inclusionProof?: InclusionProof;
  /** Keep the SET as inclusion promise (default true when the layer has a bundle annotation). */
  inclusionPromise?: boolean;
  /** For key-signed layers: the verification material is this public key hint, not a certificate. */
  publicKeyHint?: string;
}

const HASH_ENUM: Record<string, string> = { sha256: 'SHA2_256', sha384: 'SHA2_384', sha512: 'SHA2_512' };

export function parseCosignBundle(annotation: string): CosignRekorBundle {
  return JSON.parse(annotation) as CosignRekorBundle;
}

export function legacyLayerToBundle(layer: CosignLayer, options: LegacyBundleOptions = {}): SerializedBundle {
  const annotations = layer.annotations;
  const isDsse = layer.mediaType === DSSE_MEDIA_TYPE;
  const signature = annotations[COSIGN_ANNOTATIONS.signature];
  if (!signature && !isDsse) throw new Error('layer has no signature annotation');
  const rekorAnnotation = annotations[COSIGN_ANNOTATIONS.bundle];
  const rekor = rekorAnnotation ? parseCosignBundle(rekorAnnotation) : undefined;

  // The payload digest uses the Rekor entry's hash algorithm (SHA-256 unless a key signed another).
  let hashAlgorithm = 'sha256';
  let kindVersion = { kind: 'hashedrekord', version: '0.0.1' };
  if (rekor) {
    const body = JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString('utf8'));
    kindVersion = { kind: body.kind, version: body.apiVersion };
    hashAlgorithm = body.spec?.data?.hash?.algorithm ?? 'sha256';
  }
  const digest = crypto.createHash(hashAlgorithm).update(layer.payload).digest();

  const tlogEntries: SerializedBundle['verificationMaterial']['tlogEntries'] = [];
  if (rekor) {
    const keepPromise = options.inclusionPromise ?? true;
    const proof = options.inclusionProof;
    tlogEntries.push({
      logIndex: String(rekor.Payload.logIndex),
      logId: { keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64') },
      kindVersion,
      integratedTime: String(rekor.Payload.integratedTime),
      inclusionPromise: keepPromise ? { signedEntryTimestamp: rekor.SignedEntryTimestamp } : undefined,
      inclusionProof: proof
        ? {
            logIndex: String(proof.logIndex),
            rootHash: proof.rootHash.toString('base64'),
            treeSize: String(proof.treeSize),
            hashes: proof.hashes.map((h) => h.toString('base64')),
            checkpoint: { envelope: proof.checkpoint },
          }
        : undefined,
      canonicalizedBody: rekor.Payload.body,
    });
  }

  const timestampAnnotation = annotations[COSIGN_ANNOTATIONS.rfc3161Timestamp];
  const rfc3161Timestamps = timestampAnnotation
    ? [{ signedTimestamp: (JSON.parse(timestampAnnotation) as { SignedRFC3161Timestamp: string }).SignedRFC3161Timestamp }]
    : [];

  const certificatePem = annotations[COSIGN_ANNOTATIONS.certificate];
  let key: object;
  if (options.publicKeyHint !== undefined) {
    key = { publicKey: { hint: options.publicKeyHint } };
  } else if (certificatePem) {
    // Only the leaf: bundles must not carry the root, and @sigstore/verify ignores the rest anyway.
    key = { x509CertificateChain: { certificates: [{ rawBytes: fromPem(certificatePem)[0]!.toString('base64') }] } };
  } else {
    throw new Error('layer has no certificate: pass publicKeyHint for key-signed layers');
  }
  const verificationMaterial = { ...key, tlogEntries, timestampVerificationData: { rfc3161Timestamps } };

  // Attestation layers are DSSE envelopes (the signature is inside); signature layers are
  // message signatures over the payload.
  const content = isDsse
    ? { dsseEnvelope: JSON.parse(layer.payload.toString('utf8')) as object }
    : {
        messageSignature: {
          messageDigest: { algorithm: HASH_ENUM[hashAlgorithm], digest: digest.toString('base64') },
          signature,
        },
      };
  return {
    mediaType: options.inclusionProof ? BUNDLE_V02 : BUNDLE_V01,
    verificationMaterial,
    ...(content as object),
  } as SerializedBundle;
}
