/**
 * cosign's legacy artifacts as input to the one algorithm (../core.ts). Decoding only (shape
 * and encodings, ../../cosign/legacy-signature.ts); every check is the core's.
 *   - a layer of the `sha256-<hex>.sig` manifest: a simple-signing payload (the layer blob),
 *     signed as a message; the signature, certificate, Rekor entry and RFC 3161 timestamp
 *     are annotations, which become a bundle v0.1;
 *   - a layer of the `.att` manifest: a DSSE envelope (the blob) holding an in-toto statement,
 *     with the same annotations; older cosign logged it as a Rekor intoto 0.0.1 entry.
 * cosign `verify --key` ignores a certificate annotation, so the input says so.
 */
import { parseDsseEnvelope } from '../../cosign/dsse';
import { hashedRekordHash, legacySignatureToBundle, parseLegacySignature } from '../../cosign/legacy-signature';
import { ImgverifyError } from '../../errors';
import type { SignatureInput } from '../core';
import { isIntotoV001 } from '../intoto-v001';

/** A `.sig` layer: `blob` is the payload (digest-checked), signed for the image `digest`. */
export function legacySignatureInput(blob: Buffer, annotations: Readonly<Record<string, string>>, digest: string): SignatureInput {
  const sig = parseLegacySignature(annotations);
  const bundle = legacySignatureToBundle(sig, { kind: 'message', payload: blob, hash: hashedRekordHash(sig.rekorBundle) });
  return { bundle, artifact: { bytes: blob }, subject: { kind: 'image', digest }, certificateUnderKeyPolicy: 'ignore' };
}

/** A `.att` layer: `blob` is the DSSE envelope (digest-checked), an attestation about the image `digest`. */
export function legacyAttestationInput(blob: Buffer, annotations: Readonly<Record<string, string>>, digest: string): SignatureInput {
  const envelope = parseDsseEnvelope(blob);
  if (envelope.signatures.length !== 1) {
    throw new ImgverifyError('SIGNATURE_MALFORMED', `DSSE envelope has ${envelope.signatures.length} signatures, expected 1`);
  }
  // An attestation's signature is the envelope's (cosign leaves the annotation empty).
  const sig = parseLegacySignature(annotations, envelope.signatures[0]!.sig);
  const bundle = legacySignatureToBundle(sig, { kind: 'dsse', envelope });
  return {
    bundle,
    subject: { kind: 'image', digest },
    certificateUnderKeyPolicy: 'ignore',
    ...(sig.rekorBundle && isIntotoV001(sig.rekorBundle) ? { intotoV001: { rekor: sig.rekorBundle, envelope: blob } } : {}),
  };
}
