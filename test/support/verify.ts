/**
 * Test access to the one verification algorithm (src/verify/core.ts) through the same adapters
 * the library uses: a bundle for an artifact (the public `verifier.verifyBundle`), a bundle as a
 * statement about an image (the referrer path), and cosign's legacy layers.
 */
import {
  createVerifier,
  ImgverifyError,
  type BundleArtifact,
  type ImageVerifier,
  type LoadedTrustRoot,
  type PreparedPolicy,
  type VerificationFailure,
  type VerificationPolicy,
  type VerifiedBundle,
} from '../../src';
import { compilePolicy } from '../../src/policy/policy';
import { referrerBundleInput } from '../../src/verify/adapters/bundle';
import { legacySignatureInput } from '../../src/verify/adapters/legacy';
import { policyChecks, type PolicyChecks } from '../../src/verify/policy-checks';
import { verifySignature, type SignatureInput, type SignatureVerdict } from '../../src/verify/core';

/** A trust root and a policy, ready for the public verifier and for the core. */
export interface Checks {
  readonly verifier: ImageVerifier;
  readonly policy: PreparedPolicy;
  readonly ctx: PolicyChecks;
}

export function checksFor(trust: LoadedTrustRoot, policy: VerificationPolicy): Checks {
  const verifier = createVerifier({ trustedRoot: trust });
  return { verifier, policy: verifier.preparePolicy(policy), ctx: policyChecks(trust, compilePolicy(policy)) };
}

/** The verified outcome of `verifyBundle` or `verifyBlob`; its error thrown when it failed (for `toThrow` and `rejects`). */
export function verified<T extends { readonly verified: true }>(result: T | VerificationFailure): T {
  if (!result.verified) throw result.error;
  return result;
}

/** `verifier.verifyBundle`, its failure thrown: ImgverifyError naming the failed check. */
export function verifyBundle(bundle: unknown, artifact: BundleArtifact, checks: Checks): VerifiedBundle {
  return verified(checks.verifier.verifyBundle(bundle, artifact, checks.policy));
}

function throwing(decode: () => SignatureInput, ctx: PolicyChecks): SignatureVerdict {
  const verdict = verifySignature(decode(), ctx);
  if (!verdict.verified) throw verdict.failure ?? new ImgverifyError('INTERNAL_ERROR', 'failed without a failure');
  return verdict;
}

/** A bundle as cosign v3 attaches it to an image: a statement about `digest`. Throws on failure. */
export function verifyImageStatement(bundle: unknown, digest: string, checks: Checks): SignatureVerdict {
  const bytes = Buffer.isBuffer(bundle) ? bundle : Buffer.from(typeof bundle === 'string' ? bundle : JSON.stringify(bundle));
  return throwing(() => referrerBundleInput(bytes, digest), checks.ctx);
}

/** A legacy `.sig` layer (payload blob + annotations) for the image `digest`; never throws. */
export function verifyLegacySignatureLayer(blob: Buffer, annotations: Readonly<Record<string, string>>, digest: string, ctx: PolicyChecks): SignatureVerdict {
  try {
    return verifySignature(legacySignatureInput(blob, annotations, digest), ctx);
  } catch (err) {
    return { verified: false, failure: err as ImgverifyError };
  }
}
