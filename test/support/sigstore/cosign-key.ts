// What `cosign sign --key` does: the same simple-signing payload and `.sig` layer, signed with
// a long-lived key (ECDSA, RSA or Ed25519), optionally logged in Rekor with the public key.
import crypto, { type KeyObject } from 'node:crypto';
import type { SigningDetails } from './cosign';
import { type HashName, type SigningHashName, generateKeyPair, publicKeyPem, sign } from './keys';
import type { RekorEntry } from './rekor';
import {
  COSIGN_ANNOTATIONS,
  type CosignLayer,
  DEFAULT_DOCKER_REFERENCE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  anotherSignature,
  assertDigest,
  cosignBundleAnnotation,
  hashHex,
  otherDigest,
  simpleSigningPayload,
  tamperedPayload,
} from './simple-signing';
import type { TestSigstore } from './test-sigstore';
import { TestTimestampAuthority } from './tsa';

/** Defects of a key-based signature. */
export type KeyDefect =
  | 'tampered-payload'
  | 'payload-other-digest'
  | 'signature-other-key'
  | 'set-unknown-key'
  | 'rekor-body-other-key' // Rekor body names another public key
  | 'rekor-body-other-hash'
  | 'rekor-body-other-signature';

export interface SignImageWithKeyOptions {
  digest: string;
  dockerReference?: string;
  /** ECDSA (P-256/P-384/P-521), RSA or Ed25519 private key (node:crypto). */
  privateKey: KeyObject;
  /** Upload to Rekor; the entry then carries the public key PEM. Default false. */
  tlog?: boolean;
  timestamp?: boolean;
  signedAt?: Date;
  optional?: Record<string, string> | null;
  /**
   * Message hash for ECDSA/RSA; cosign v2 uses SHA-256 for every file key unless told otherwise
   * (policy-controller's key.hashAlgorithm). Ignored for Ed25519. Rekor logs no SHA-224 digest.
   */
  hash?: SigningHashName;
  defect?: KeyDefect;
}

export interface KeySignedLayer extends CosignLayer {
  details: SigningDetails;
}

export function signImageWithKey(sigstore: TestSigstore, opts: SignImageWithKeyOptions): KeySignedLayer {
  assertDigest(opts.digest);
  const defect = opts.defect;
  const hash = opts.hash ?? 'sha256';
  const signedAt = opts.signedAt ?? sigstore.nextSigningTime();
  const publicKey = crypto.createPublicKey(opts.privateKey);
  const payloadFields = {
    digest: defect === 'payload-other-digest' ? otherDigest() : opts.digest,
    dockerReference: opts.dockerReference ?? DEFAULT_DOCKER_REFERENCE,
    optional: opts.optional ?? null,
  };
  const payload = simpleSigningPayload(payloadFields);
  const signingKey = defect === 'signature-other-key' ? generateKeyPair(sameKindAs(opts.privateKey)).privateKey : opts.privateKey;
  const signature = sign(payload, signingKey, hash);

  const annotations: Record<string, string> = { [COSIGN_ANNOTATIONS.signature]: signature.toString('base64') };
  let rekorEntry: RekorEntry | undefined;
  if (opts.tlog ?? false) {
    // Ed25519 is signed without a pre-hash, so its hashedrekord digest is SHA-256 of the payload.
    if (hash === 'sha224') throw new Error('Rekor logs no SHA-224 digest: sign with tlog: false');
    const bodyHash: HashName = opts.privateKey.asymmetricKeyType === 'ed25519' ? 'sha256' : hash;
    const loggedKey = defect === 'rekor-body-other-key' ? generateKeyPair(sameKindAs(opts.privateKey)).publicKey : publicKey;
    const loggedSignature = defect === 'rekor-body-other-signature' ? anotherSignature(payload, signingKey, hash, signature) : signature;
    const payloadHex = defect === 'rekor-body-other-hash' ? hashHex(crypto.randomBytes(32), bodyHash) : hashHex(payload, bodyHash);
    rekorEntry = sigstore.rekor.addHashedRekord({
      ...(bodyHash === 'sha256' ? { payloadSha256Hex: payloadHex } : { payloadHash: { algorithm: bodyHash, hex: payloadHex } }),
      signatureB64: loggedSignature.toString('base64'),
      publicKeyPEM: publicKeyPem(loggedKey),
      integratedTime: signedAt,
      setSigner: defect === 'set-unknown-key' ? 'unknown-key' : 'log',
    });
    annotations[COSIGN_ANNOTATIONS.bundle] = cosignBundleAnnotation(rekorEntry);
  }

  let timestampResponse: NonSharedBuffer | undefined;
  if (opts.timestamp) {
    timestampResponse = sigstore.tsa.timestamp(signature, signedAt);
    annotations[COSIGN_ANNOTATIONS.rfc3161Timestamp] = TestTimestampAuthority.cosignAnnotation(timestampResponse);
  }

  return {
    payload: defect === 'tampered-payload' ? tamperedPayload(payloadFields) : payload,
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    annotations,
    details: { signedAt, signedPayload: payload, signature, publicKey, rekorEntry, timestampResponse },
  };
}

/** The generateKeyPair() type of an existing key, to mint a different key of the same kind. */
function sameKindAs(key: KeyObject): Parameters<typeof generateKeyPair>[0] {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return (
        ({ prime256v1: 'ecdsa-p256', secp384r1: 'ecdsa-p384', secp521r1: 'ecdsa-p521' } as const)[
          details.namedCurve as 'prime256v1' | 'secp384r1' | 'secp521r1'
        ] ?? 'ecdsa-p256'
      );
    case 'rsa':
      return details.modulusLength === 4096 ? 'rsa-4096' : details.modulusLength === 3072 ? 'rsa-3072' : 'rsa-2048';
    case 'ed25519':
      return 'ed25519';
    default:
      throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
  }
}
