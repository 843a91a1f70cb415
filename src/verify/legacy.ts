/**
 * Verifies cosign's legacy artifacts: one layer of a `sha256-<hex>.sig` manifest (a signed
 * simple-signing payload) or of a `.att` manifest (a DSSE envelope holding an in-toto
 * statement), for one image digest. In order:
 *   1. decode the annotations and the blob (shape, encodings);
 *   2. `@sigstore/verify`: certificate chain at the verified signing time (Rekor integration
 *      time or RFC 3161 timestamp), SCT, SET, Rekor body ↔ signature and payload hash,
 *      signature (intoto 0.0.1 entries: log checks in ./intoto-v001.ts);
 *   3. the leaf is a code-signing certificate, and the Rekor body names this signer — two
 *      checks `@sigstore/verify` does not make;
 *   4. the signed content binds the image digest;
 *   5. the policy: identity and issuer, or the key.
 * The first failing step is reported with its code; nothing is trusted before step 2 passes.
 */
import type { X509Certificate } from '@sigstore/core';
import { toSignedEntity } from '@sigstore/verify';
import { ImgverifyError } from '../errors';
import { IN_TOTO_PAYLOAD_TYPE, parseDsseEnvelope } from '../cosign/dsse';
import { checkStatementBindsDigest, parseStatement, type InTotoStatement } from '../cosign/in-toto';
import {
  hashedRekordHash,
  legacySignatureToBundle,
  parseLegacySignature,
  type LegacyContent,
  type LegacySignature,
} from '../cosign/legacy-signature';
import { checkRekorBodyNamesSigner } from '../cosign/rekor-body';
import { checkPayloadBindsDigest, parseSimpleSigning } from '../cosign/simple-signing';
import { checkCodeSigningUsage } from './code-signing';
import { POLICY_KEY_HINT, type PolicyChecks } from './context';
import { isIntotoV001, verifyIntotoV001Entry } from './intoto-v001';
import { KeyMessageSignatureContent } from './key-message-content';
import { signerForPolicy } from './signer';
import { failureInfo, type SignatureResult, type SignatureSource, type TlogInfo } from './types';

export interface LegacyLayerInput {
  readonly source: SignatureSource;
  readonly location: string;
  /** The layer blob, already checked against the layer digest. */
  readonly blob: Buffer;
  readonly annotations: Readonly<Record<string, string>>;
}

/** One attestation: its signature outcome and, when verified, the statement it carries. */
export interface AttestationResult {
  readonly signature: SignatureResult;
  readonly statement?: InTotoStatement;
}

function tlogInfo(sig: LegacySignature): TlogInfo | undefined {
  const rekor = sig.rekorBundle;
  if (!rekor) return undefined;
  return {
    logIndex: rekor.logIndex,
    logId: rekor.logID.toString('hex'),
    integratedTime: new Date(rekor.integratedTime * 1000).toISOString(),
  };
}

function coded(err: unknown): ImgverifyError {
  return err instanceof ImgverifyError ? err : new ImgverifyError('SIGNATURE_MALFORMED', `signature could not be processed: ${String(err)}`);
}

/** Steps 2–3; returns the leaf certificate for keyless signatures. */
function verifyMaterial(sig: LegacySignature, content: LegacyContent, blob: Buffer, ctx: PolicyChecks): X509Certificate | undefined {
  const { policy } = ctx;
  if (policy.kind === 'keyless' && !sig.certificate) {
    throw new ImgverifyError('SIGNATURE_MALFORMED', 'signature has no certificate: it is key-based, verify it with its public key');
  }
  if (!sig.rekorBundle && !policy.options.insecureIgnoreTlog) {
    throw new ImgverifyError(
      'TLOG_ENTRY_MISSING',
      'signature has no transparency-log entry (no dev.sigstore.cosign/bundle annotation); it cannot be trusted without one',
    );
  }
  // With a key policy the certificate, if any, is ignored, as cosign --key does: the
  // signature must verify with the given key.
  const material: LegacySignature = policy.kind === 'key' ? { ...sig, certificate: undefined } : sig;
  const bundle = legacySignatureToBundle(material, content, POLICY_KEY_HINT);
  let entity = toSignedEntity(bundle, content.kind === 'message' ? content.payload : undefined);
  if (policy.kind === 'key' && content.kind === 'message') {
    entity = { ...entity, signature: new KeyMessageSignatureContent(content.payload, sig.signature, content.hash) };
  }

  let signerKey;
  if (sig.rekorBundle && isIntotoV001(sig.rekorBundle) && content.kind === 'dsse') {
    verifyIntotoV001Entry(sig.rekorBundle, blob, content.envelope.payload, ctx.trust.material);
    signerKey = ctx.checksWithoutTlog.verify({ ...entity, tlogEntries: [] }).key;
  } else {
    signerKey = ctx.checks.verify(entity).key;
  }
  // The certificate toSignedEntity parsed (present exactly when `material` has one).
  const leaf = entity.key.$case === 'certificate' ? entity.key.certificate : undefined;
  if (leaf) checkCodeSigningUsage(leaf);
  if (sig.rekorBundle) checkRekorBodyNamesSigner(sig.rekorBundle.body, { certificate: material.certificate, publicKey: signerKey });
  return leaf;
}

/** A `.sig` layer: simple-signing payload bound to `digest`. */
export function verifyLegacySignature(input: LegacyLayerInput, digest: string, ctx: PolicyChecks): SignatureResult {
  const base = { source: input.source, location: input.location };
  let sig: LegacySignature;
  try {
    sig = parseLegacySignature(input.annotations);
  } catch (err) {
    return { ...base, verified: false, failure: failureInfo(coded(err)) };
  }
  const tlog = tlogInfo(sig);
  try {
    const content: LegacyContent = { kind: 'message', payload: input.blob, hash: hashedRekordHash(sig.rekorBundle) };
    const leaf = verifyMaterial(sig, content, input.blob, ctx);
    const simple = parseSimpleSigning(input.blob);
    checkPayloadBindsDigest(simple, digest);
    const signer = signerForPolicy(ctx.policy, leaf);
    return {
      ...base,
      verified: true,
      signer,
      signedDigest: simple.dockerManifestDigest,
      dockerReference: simple.dockerReference,
      ...(tlog ? { tlog } : {}),
    };
  } catch (err) {
    return { ...base, verified: false, ...(tlog ? { tlog } : {}), failure: failureInfo(coded(err)) };
  }
}

/** A `.att` layer: DSSE envelope with an in-toto statement whose subject is `digest`. */
export function verifyLegacyAttestation(input: LegacyLayerInput, digest: string, ctx: PolicyChecks): AttestationResult {
  const base = { source: input.source, location: input.location };
  let sig: LegacySignature;
  let envelope;
  try {
    envelope = parseDsseEnvelope(input.blob);
    if (envelope.signatures.length !== 1) {
      throw new ImgverifyError('SIGNATURE_MALFORMED', `DSSE envelope has ${envelope.signatures.length} signatures, expected 1`);
    }
    sig = parseLegacySignature(input.annotations, envelope.signatures[0]!.sig);
  } catch (err) {
    return { signature: { ...base, verified: false, failure: failureInfo(coded(err)) } };
  }
  const tlog = tlogInfo(sig);
  try {
    const leaf = verifyMaterial(sig, { kind: 'dsse', envelope }, input.blob, ctx);
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      throw new ImgverifyError('PAYLOAD_INVALID', `DSSE payload type is ${JSON.stringify(envelope.payloadType)}, expected ${IN_TOTO_PAYLOAD_TYPE}`);
    }
    const statement = parseStatement(envelope.payload);
    checkStatementBindsDigest(statement, digest);
    const signer = signerForPolicy(ctx.policy, leaf);
    return { signature: { ...base, verified: true, signer, signedDigest: digest, ...(tlog ? { tlog } : {}) }, statement };
  } catch (err) {
    return { signature: { ...base, verified: false, ...(tlog ? { tlog } : {}), failure: failureInfo(coded(err)) } };
  }
}
