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
import { evaluateCondition, type AttestationCondition, type EvaluationLimits } from '../policy/cel';
import { defined } from '../util/object';
import type { CompiledPolicy } from '../policy/policy';
import { legacyAttestationInput, legacySignatureInput } from './adapters/legacy';
import { referrerBundleInput } from './adapters/bundle';
import type { PolicyChecks } from './policy-checks';
import { verifySignature, type SignatureInput, type SignatureVerdict } from './core';
import { failureInfo, type SignatureResult, type VerifiedAttestation } from './types';

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

/** The verdict on the signatures of one image: verified when one passed, else why not. */
export type ImageVerdict = { readonly signatures: readonly SignatureResult[] } & Verdict;

type Verdict = { readonly verified: true } | { readonly verified: false; readonly error: ImgverifyError };

/** cosign `verify`: `.sig` layers and v3 signature bundles. `none` describes where nothing was found. */
export function judgeSignatures(digest: string, found: Discovered, ctx: PolicyChecks, none: string): ImageVerdict {
  const signatures = [
    ...legacyOutcomes(found.legacy, SIMPLE_SIGNING_MEDIA_TYPE, (blob, annotations) => legacySignatureInput(blob, annotations, digest), ctx),
    // A verified bundle whose statement is an attestation is not a signature: left out here.
    ...referrerOutcomes(found.referrers, digest, ctx).filter((o) => !(o.signature.verified && o.statement?.predicateType !== COSIGN_SIGN_PREDICATE)),
  ].map((o) => o.signature);
  return { signatures, ...verdict(signatures, ctx.policy, none) };
}

/** Conditions are evaluated without a pause for at most this long: then the event loop gets a turn. */
const CONDITION_SLICE_MS = 20;

/**
 * cosign `verify-attestation`: `.att` layers and v3 attestation bundles. With `wanted` (a
 * predicate type URI), a verified statement of another type fails PREDICATE_TYPE_MISMATCH; a
 * verified statement that does not satisfy every condition fails ATTESTATION_CONDITION_FAILED.
 * Conditions run within `limits` (each evaluation stops at the deadline), and between them the
 * event loop gets a turn (a webhook keeps answering its probes); once `signal` has aborted,
 * its reason is thrown.
 */
export async function judgeAttestations(
  digest: string,
  found: Discovered,
  ctx: PolicyChecks,
  wanted: string | undefined,
  none: string,
  conditions: readonly AttestationCondition[] = [],
  limits: EvaluationLimits & { readonly signal?: AbortSignal } = {},
): Promise<ImageVerdict & { readonly attestations: readonly VerifiedAttestation[] }> {
  const outcomes = [
    ...legacyOutcomes(found.legacy, DSSE_ENVELOPE_MEDIA_TYPE, (blob, annotations) => legacyAttestationInput(blob, annotations, digest), ctx),
    // A verified v3 signature (cosign sign predicate) is not an attestation: left out here.
    ...referrerOutcomes(found.referrers, digest, ctx).filter((o) => !(o.signature.verified && o.statement?.predicateType === COSIGN_SIGN_PREDICATE)),
  ];
  const attestations: VerifiedAttestation[] = [];
  const signatures: SignatureResult[] = [];
  let sliceStart = performance.now();
  const judged = async ({ signature, statement }: Outcome): Promise<SignatureResult> => {
    if (!signature.verified || !statement) return signature;
    if (wanted !== undefined && statement.predicateType !== wanted) {
      const err = new ImgverifyError('PREDICATE_TYPE_MISMATCH', `attestation has predicate type ${statement.predicateType}, not ${wanted}`);
      return { ...signature, verified: false, failure: failureInfo(err) };
    }
    for (const condition of conditions) {
      if (performance.now() - sliceStart > CONDITION_SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
      if (limits.signal?.aborted) throw limits.signal.reason;
      const outcome = evaluateCondition(condition, statement.json, defined({ deadline: limits.deadline }));
      if (!outcome.ok) {
        const err = new ImgverifyError(
          'ATTESTATION_CONDITION_FAILED',
          `attestation (${statement.predicateType}) does not satisfy the condition ${outcome.reason}`,
          {
            details: { condition: condition.origin, predicateType: statement.predicateType },
          },
        );
        return { ...signature, verified: false, failure: failureInfo(err) };
      }
    }
    attestations.push({ predicateType: statement.predicateType, statement: statement.json, signature });
    return signature;
  };
  for (const outcome of outcomes) signatures.push(await judged(outcome));
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
    const where: Where = { source: 'sig-tag', location };
    if (layer.error) return failed(where, layer.error);
    if (layer.descriptor.mediaType !== mediaType) {
      return failed(where, new ImgverifyError('SIGNATURE_MALFORMED', `layer media type ${layer.descriptor.mediaType} is not ${mediaType}`));
    }
    const { payload } = layer;
    if (!payload) return failed(where, toImgverifyError(new Error('a layer without payload or error')));
    return judge(where, () => decode(payload, layer.descriptor.annotations), ctx);
  });
}

function referrerOutcomes(referrers: readonly ReferrerBundle[], digest: string, ctx: PolicyChecks): Outcome[] {
  return referrers.map((r) => {
    const where: Where = { source: 'referrer', location: r.location, referrer: { listing: r.listing, ...defined({ shape: r.shape }) } };
    const { bundle } = r;
    return r.error || !bundle
      ? failed(where, r.error ?? toImgverifyError(new Error('a referrer without bundle or error')))
      : judge(where, () => referrerBundleInput(bundle, digest), ctx);
  });
}

/** Where a signature was found, as its result names it. */
type Where = Pick<SignatureResult, 'source' | 'location' | 'referrer'>;

function failed(where: Where, err: ImgverifyError): Outcome {
  return { signature: { ...where, verified: false, failure: failureInfo(err) } };
}

/** Decodes (step 1's adapter part) and runs the algorithm; a decoding failure is this signature's failure. */
function judge(where: Where, decode: () => SignatureInput, ctx: PolicyChecks): Outcome {
  let input: SignatureInput;
  try {
    input = decode();
  } catch (err) {
    return failed(where, toImgverifyError(err));
  }
  const v = verifySignature(input, ctx);
  return { signature: signatureResult(where, v), ...(v.verified && v.statement ? { statement: v.statement } : {}) };
}

function signatureResult(where: Where, v: SignatureVerdict): SignatureResult {
  const { signer, trustRoot, signedDigest, dockerReference, tlog, signedAt } = v;
  const established = { ...where, ...defined({ signedDigest, dockerReference, tlog, signedAt }) };
  if (v.verified) {
    if (!signer || !trustRoot) throw toImgverifyError(new Error('a verified signature has no signer or trust root'));
    return { ...established, verified: true, signer, trustRoot };
  }
  const failure = failureInfo(v.failure ?? toImgverifyError(new Error('a failed signature has no failure')));
  return { ...established, ...defined({ signer, trustRoot }), verified: false, failure };
}

/**
 * Verified when one signature passed; otherwise the reason. A signature that is listed but
 * could not be fetched (an operational failure) could have been the valid one: then the
 * verdict is that operational failure, naming the object, never a definite "failed".
 */
function verdict(signatures: readonly SignatureResult[], policy: CompiledPolicy, none: string): Verdict {
  if (signatures.length === 0) return { verified: false, error: new ImgverifyError('NO_SIGNATURES', none) };
  if (signatures.some((s) => s.verified)) return { verified: true };
  const unreachable = signatures.filter((s) => s.failure?.category === 'operational');
  const [first] = unreachable;
  if (first && !first.verified) {
    const others = signatures.length - 1;
    return {
      verified: false,
      error: new ImgverifyError(
        first.failure.code,
        `${first.location} is listed but could not be fetched: ${first.failure.message}` +
          (others > 0 ? ` (${others} other signature${others === 1 ? '' : 's'} did not verify)` : ''),
        { details: { location: first.location, unavailable: unreachable.map((s) => s.location) } },
      ),
    };
  }
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
  return new ImgverifyError(
    'NO_MATCHING_SIGNATURES',
    `none of ${signatures.length} signatures passed every check and the policy (${policy.description}): ${detail}`,
    {
      details,
    },
  );
}
