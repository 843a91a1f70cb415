// cosign's legacy signature format: the simple-signing payload, the `.sig` layer and its
// annotations, exactly as cosign serialises them (checked against real signatures in the
// interop self-check). Also the small helpers both signing flows share.
import crypto, { type KeyObject } from 'node:crypto';
import type { Identity } from './fulcio';
import { goJson, sortedKeys } from './json';
import { type HashName, sign } from './keys';
import type { RekorEntry } from './rekor';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';

export const COSIGN_ANNOTATIONS = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  rfc3161Timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
} as const;

/** Default OIDC issuer of keyless signatures (Sigstore's own Dex instance serves email identities). */
export const DEFAULT_ISSUER = 'https://oauth2.sigstore.dev/auth';
export const DEFAULT_IDENTITY: Identity = { email: 'signer@example.test' };
export const DEFAULT_DOCKER_REFERENCE = 'registry.example.test/app';

/** One `.sig` layer: the blob (payload) and the descriptor's media type and annotations. */
export interface CosignLayer {
  payload: NonSharedBuffer;
  mediaType: string;
  annotations: Record<string, string>;
}

/**
 * The simple-signing payload exactly as cosign serialises it (Go json.Marshal of
 * payload.SimpleContainerImage): critical{identity, image, type}, then optional (null when
 * empty, keys sorted).
 */
export function simpleSigningPayload(opts: { digest: string; dockerReference: string; optional?: Record<string, string> | null }): NonSharedBuffer {
  const optional = opts.optional && Object.keys(opts.optional).length > 0 ? sortedKeys(opts.optional) : null;
  return Buffer.from(
    goJson({
      critical: {
        identity: { 'docker-reference': opts.dockerReference },
        image: { 'docker-manifest-digest': opts.digest },
        type: 'cosign container image signature',
      },
      optional,
    }),
    'utf8',
  );
}

/** The `dev.sigstore.cosign/bundle` annotation: cosign's RekorBundle, Go-marshalled. */
export function cosignBundleAnnotation(entry: RekorEntry): string {
  return goJson({
    SignedEntryTimestamp: entry.signedEntryTimestamp.toString('base64'),
    Payload: {
      body: entry.body.toString('base64'),
      integratedTime: entry.integratedTime,
      logIndex: entry.logIndex,
      logID: entry.logID,
    },
  });
}

export function assertDigest(digest: string): void {
  if (!/^sha(256|384|512):[0-9a-f]+$/.test(digest)) throw new Error(`not an image digest: ${digest}`);
}

/** A random digest, for payloads that bind some other image. */
export function otherDigest(): string {
  return `sha256:${crypto.randomBytes(32).toString('hex')}`;
}

export function hashHex(data: Uint8Array, hash: HashName): string {
  return crypto.createHash(hash).update(data).digest('hex');
}

/** A payload changed after signing: same structure, a different docker-reference. */
export function tamperedPayload(opts: { digest: string; dockerReference: string; optional?: Record<string, string> | null }): NonSharedBuffer {
  return simpleSigningPayload({ ...opts, dockerReference: `${opts.dockerReference}-tampered` });
}

/** Signs again until ECDSA's randomness yields different bytes (Ed25519/RSA are deterministic). */
export function anotherSignature(payload: Uint8Array, key: KeyObject, hash: HashName, first: Uint8Array): NonSharedBuffer {
  for (let attempt = 0; attempt < 8; attempt++) {
    const again = sign(payload, key, hash);
    if (!again.equals(Buffer.from(first))) return again;
  }
  throw new Error('this key type signs deterministically; cannot make another valid signature');
}
