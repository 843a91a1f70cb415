// Shared helpers for the self-checks: run @sigstore/verify on a cosign layer.
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot, publicKeyDetailsFromJSON } from '@sigstore/protobuf-specs';
import { type Signer, Verifier, type VerifierOptions, type VerificationPolicy, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import type { KeyObject } from 'node:crypto';
import type { CosignLayer, LegacyBundleOptions, TrustedRootJson } from '../../../support/sigstore';
import { keyDetailsOf, legacyLayerToBundle, spkiDer } from '../../../support/sigstore';

export interface VerifyOptions extends LegacyBundleOptions {
  trustedRoot: TrustedRootJson | object;
  policy?: VerificationPolicy;
  verifier?: VerifierOptions;
  /** For key-signed layers: the public key to trust under `publicKeyHint`. */
  publicKey?: KeyObject;
}

/** Builds a bundle from the layer and verifies it; returns the signer or throws @sigstore/verify's error. */
export function verifyLayer(layer: CosignLayer, options: VerifyOptions): Signer {
  const bundle = bundleFromJSON(legacyLayerToBundle(layer, options));
  const keys =
    options.publicKey && options.publicKeyHint !== undefined
      ? {
          [options.publicKeyHint]: {
            rawBytes: spkiDer(options.publicKey),
            keyDetails: publicKeyDetailsFromJSON(keyDetailsOf(options.publicKey)),
            validFor: { start: new Date(0) },
          },
        }
      : undefined;
  const trustMaterial = toTrustMaterial(TrustedRoot.fromJSON(options.trustedRoot), keys);
  return new Verifier(trustMaterial, options.verifier).verify(toSignedEntity(bundle, layer.payload), options.policy);
}

/**
 * 'OK', or what @sigstore/verify threw as "CODE: message" (plus " / cause" when it wraps
 * one), so tests can check both the kind of failure and its reason.
 */
export function verificationOutcome(layer: CosignLayer, options: VerifyOptions): string {
  try {
    verifyLayer(layer, options);
    return 'OK';
  } catch (error) {
    const { code, message, cause } = error as { code?: string; message: string; cause?: { message?: string } };
    if (!code) throw error; // not a verification error: a bug in the test support
    return `${code}: ${message}${cause?.message ? ` / ${cause.message}` : ''}`;
  }
}

/** Just the error code (or 'OK'). */
export function verificationCode(layer: CosignLayer, options: VerifyOptions): string {
  return verificationOutcome(layer, options).split(':')[0]!;
}
