/**
 * Verifies one cosign legacy signature (a `.sig` layer) for one image digest, in order:
 *   1. decode the annotations (shape, encodings);
 *   2. `@sigstore/verify`: certificate chain at the Rekor integration time, SCT, SET,
 *      Rekor body ↔ signature and payload hash, signature over the payload;
 *   3. the Rekor body names this certificate (or key) — not checked by `@sigstore/verify`;
 *   4. the payload binds the image digest;
 *   5. the policy: identity and issuer, or the key.
 * The first failing step is reported with its code; nothing is trusted before step 2 passes.
 */
import { X509Certificate } from '@sigstore/core';
import { toSignedEntity } from '@sigstore/verify';
import { ImgverifyError } from '../errors';
import { checkRekorBodyNamesSigner } from '../cosign/rekor-body';
import { legacySignatureToBundle, parseLegacySignature, type LegacySignature } from '../cosign/legacy-signature';
import { checkPayloadBindsDigest, parseSimpleSigning } from '../cosign/simple-signing';
import { certificateIdentity } from '../policy/certificate-identity';
import { matchIdentity } from '../policy/identity-policy';
import { checkCodeSigningUsage } from './code-signing';
import { POLICY_KEY_HINT, type PolicyChecks } from './context';
import { failureInfo, type SignatureResult, type SignatureSource, type TlogInfo } from './types';

export interface LegacySignatureInput {
  readonly source: SignatureSource;
  readonly location: string;
  /** The layer blob: the signed payload, already checked against the layer digest. */
  readonly payload: Buffer;
  readonly annotations: Readonly<Record<string, string>>;
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

/** Steps 2–5 for an already-decoded signature; throws ImgverifyError at the first failure. */
function check(sig: LegacySignature, payload: Buffer, digest: string, ctx: PolicyChecks): Omit<SignatureResult, 'source' | 'location' | 'verified'> {
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
  const entity = toSignedEntity(legacySignatureToBundle(material, payload, POLICY_KEY_HINT), payload);
  const signer = ctx.checks.verify(entity);
  const leaf = material.certificate ? X509Certificate.parse(material.certificate) : undefined;
  if (leaf) checkCodeSigningUsage(leaf);
  if (sig.rekorBundle) {
    checkRekorBodyNamesSigner(sig.rekorBundle.body, { certificate: material.certificate, publicKey: signer.key });
  }

  const simple = parseSimpleSigning(payload);
  checkPayloadBindsDigest(simple, digest);
  const claims = { dockerReference: simple.dockerReference, signedDigest: simple.dockerManifestDigest };

  if (policy.kind === 'key') return { signer: { publicKeySha256: policy.keyId }, ...claims };
  const identity = certificateIdentity(leaf!);
  const match = matchIdentity(identity, policy.identities);
  if (!match.ok) throw new ImgverifyError(match.code, match.message);
  return {
    signer: { subject: match.subject, subjectAlternativeNames: identity.subjectAlternativeNames, issuer: match.issuer },
    ...claims,
  };
}

export function verifyLegacySignature(input: LegacySignatureInput, digest: string, ctx: PolicyChecks): SignatureResult {
  const base = { source: input.source, location: input.location };
  let sig: LegacySignature;
  try {
    sig = parseLegacySignature(input.annotations);
  } catch (err) {
    const e = err instanceof ImgverifyError ? err : new ImgverifyError('SIGNATURE_MALFORMED', String(err));
    return { ...base, verified: false, failure: failureInfo(e) };
  }
  const tlog = tlogInfo(sig);
  try {
    const ok = check(sig, input.payload, digest, ctx);
    return { ...base, verified: true, ...ok, ...(tlog ? { tlog } : {}) };
  } catch (err) {
    const e = err instanceof ImgverifyError ? err : new ImgverifyError('SIGNATURE_MALFORMED', `signature could not be processed: ${String(err)}`);
    return { ...base, verified: false, ...(tlog ? { tlog } : {}), failure: failureInfo(e) };
  }
}
