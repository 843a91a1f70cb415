/**
 * The verdict on one image from the signature artifacts discovered for its digest. Pure: the
 * artifacts are already fetched (and digest-checked) by ../cosign/discover-*.ts; each is
 * decoded by its adapter and judged by the one algorithm (./core.ts). An image is verified
 * when at least one signature passes every step.
 *
 * cosign v3 stores signatures and attestations alike as bundles referring to the image: a
 * verified statement with the `https://sigstore.dev/cosign/sign/v1` predicate is a signature,
 * any other predicate an attestation, and each is left out of the other's list.
 */
import { DSSE_ENVELOPE_MEDIA_TYPE, SIMPLE_SIGNING_MEDIA_TYPE } from '../cosign/annotations';
import type { LegacyArtifacts } from '../cosign/discover-legacy';
import type { ReferrerBundle } from '../cosign/discover-referrers';
import { COSIGN_SIGN_PREDICATE, type InTotoStatement } from '../cosign/in-toto';
import { ImgverifyError, toImgverifyError } from '../errors';
import { defined } from '../util/object';
import type { CompiledPolicy } from '../policy/policy';
import { legacyAttestationInput, legacySignatureInput } from './adapters/legacy';
import { referrerBundleInput } from './adapters/bundle';
import type { PolicyChecks } from './context';
import { verifySignature, type SignatureInput, type SignatureVerdict } from './core';
import { failureInfo, type SignatureResult, type SignatureSource, type VerifiedAttestation } from './types';

/** One signature's outcome, with the statement it carries when it is a verified DSSE. */
interface Outcome {
  readonly signature: SignatureResult;
  readonly statement?: InTotoStatement;
}

/** What was found for one digest. `legacy` is null when the `.sig`/`.att` tag does not exist. */
export interface Discovered {
  readonly legacy: LegacyArtifacts | null;
  readonly referrers: readonly ReferrerBundle[];
}

export interface ImageVerdict {
  readonly signatures: readonly SignatureResult[];
  readonly verified: boolean;
  readonly error?: ImgverifyError;
}

/** cosign `verify`: `.sig` layers and v3 signature bundles. `none` describes where nothing was found. */
export function judgeSignatures(digest: string, found: Discovered, ctx: PolicyChecks, none: string): ImageVerdict {
  const signatures = [
    ...legacyOutcomes(found.legacy, SIMPLE_SIGNING_MEDIA_TYPE, (blob, annotations) => legacySignatureInput(blob, annotations, digest), ctx),
    // A verified bundle whose statement is an attestation is not a signature: left out here.
    ...referrerOutcomes(found.referrers, digest, ctx).filter((o) => !(o.signature.verified && o.statement?.predicateType !== COSIGN_SIGN_PREDICATE)),
  ].map((o) => o.signature);
  return { signatures, ...verdict(signatures, ctx.policy, none) };
}

/**
 * cosign `verify-attestation`: `.att` layers and v3 attestation bundles. With `wanted` (a
 * predicate type URI), a verified statement of another type fails PREDICATE_TYPE_MISMATCH.
 */
export function judgeAttestations(
  digest: string,
  found: Discovered,
  ctx: PolicyChecks,
  wanted: string | undefined,
  none: string,
): ImageVerdict & { readonly attestations: readonly VerifiedAttestation[] } {
  const outcomes = [
    ...legacyOutcomes(found.legacy, DSSE_ENVELOPE_MEDIA_TYPE, (blob, annotations) => legacyAttestationInput(blob, annotations, digest), ctx),
    // A verified v3 signature (cosign sign predicate) is not an attestation: left out here.
    ...referrerOutcomes(found.referrers, digest, ctx).filter((o) => !(o.signature.verified && o.statement?.predicateType === COSIGN_SIGN_PREDICATE)),
  ];
  const attestations: VerifiedAttestation[] = [];
  const signatures = outcomes.map(({ signature, statement }): SignatureResult => {
    if (!signature.verified || !statement) return signature;
    if (wanted !== undefined && statement.predicateType !== wanted) {
      const err = new ImgverifyError('PREDICATE_TYPE_MISMATCH', `attestation has predicate type ${statement.predicateType}, not ${wanted}`);
      return { ...signature, verified: false, failure: failureInfo(err) };
    }
    attestations.push({ predicateType: statement.predicateType, statement: statement.json, signature });
    return signature;
  });
  return { signatures, attestations, ...verdict(signatures, ctx.policy, none) };
}

/** Layers that failed to download, or have the wrong media type, fail here; the rest are verified. */
function legacyOutcomes(
  artifacts: LegacyArtifacts | null,
  mediaType: string,
  decode: (blob: Buffer, annotations: Readonly<Record<string, string>>) => SignatureInput,
  ctx: PolicyChecks,
): Outcome[] {
  if (!artifacts) return [];
  return artifacts.layers.map((layer) => {
    const location = `${artifacts.location} layer ${layer.index}`;
    if (layer.error) return failed('sig-tag', location, layer.error);
    if (layer.descriptor.mediaType !== mediaType) {
      return failed('sig-tag', location, new ImgverifyError('SIGNATURE_MALFORMED', `layer media type ${layer.descriptor.mediaType} is not ${mediaType}`));
    }
    return judge('sig-tag', location, () => decode(layer.payload!, layer.descriptor.annotations), ctx);
  });
}

function referrerOutcomes(referrers: readonly ReferrerBundle[], digest: string, ctx: PolicyChecks): Outcome[] {
  return referrers.map((r) => (r.error ? failed('referrer', r.location, r.error) : judge('referrer', r.location, () => referrerBundleInput(r.bundle!, digest), ctx)));
}

function failed(source: SignatureSource, location: string, err: ImgverifyError): Outcome {
  return { signature: { source, location, verified: false, failure: failureInfo(err) } };
}

/** Decodes (step 1's adapter part) and runs the algorithm; a decoding failure is this signature's failure. */
function judge(source: SignatureSource, location: string, decode: () => SignatureInput, ctx: PolicyChecks): Outcome {
  let input: SignatureInput;
  try {
    input = decode();
  } catch (err) {
    return failed(source, location, toImgverifyError(err));
  }
  const v = verifySignature(input, ctx);
  return { signature: signatureResult(source, location, v), ...(v.verified && v.statement ? { statement: v.statement } : {}) };
}

function signatureResult(source: SignatureSource, location: string, v: SignatureVerdict): SignatureResult {
  const { signer, trustRoot, signedDigest, dockerReference, tlog, signedAt } = v;
  return {
    source,
    location,
    verified: v.verified,
    ...defined({ signer, trustRoot, signedDigest, dockerReference, tlog, signedAt, failure: v.failure && failureInfo(v.failure) }),
  };
}

/** Verified when one signature passed; otherwise the reason. */
function verdict(signatures: readonly SignatureResult[], policy: CompiledPolicy, none: string): { verified: boolean; error?: ImgverifyError } {
  if (signatures.length === 0) return { verified: false, error: new ImgverifyError('NO_SIGNATURES', none) };
  if (signatures.some((s) => s.verified)) return { verified: true };
  return { verified: false, error: noMatchError(signatures, policy) };
}

/** The overall reason when no signature passed: the common failure code, or a summary. */
function noMatchError(signatures: readonly SignatureResult[], policy: CompiledPolicy): ImgverifyError {
  const failures = signatures.flatMap((s) => (s.failure ? [s.failure] : []));
  const codes = new Set(failures.map((f) => f.code));
  const detail = signatures.map((s) => `${s.location}: ${s.failure?.message ?? 'not verified'}`).join('; ');
  const [only] = codes;
  const details = { policy: policy.description };
  if (codes.size === 1 && only !== undefined && failures.length === signatures.length) {
    const message = signatures.length === 1 ? failures[0]!.message : `all ${signatures.length} signatures failed: ${detail}`;
    return new ImgverifyError(only, message, { details });
  }
  return new ImgverifyError('NO_MATCHING_SIGNATURES', `none of ${signatures.length} signatures passed every check and the policy (${policy.description}): ${detail}`, {
    details,
  });
}
