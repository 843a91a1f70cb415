/**
 * Verifies one cosign v3 bundle found as a referrer of an image digest: the bundle itself
 * (verifyBundle: chain, SCT, log inclusion by proof + checkpoint or SET, Rekor v2 with its
 * timestamp, DSSE signature, signer binding, policy) with the image digest as the artifact,
 * so the in-toto statement must name it as a subject. The caller classifies the statement:
 * `https://sigstore.dev/cosign/sign/v1` is a signature, any other predicate an attestation.
 */
import { ImgverifyError } from '../errors';
import { parseStatement } from '../cosign/in-toto';
import type { ReferrerBundle } from '../cosign/discover-referrers';
import type { PolicyChecks } from './context';
import { verifyBundle } from './bundle';
import type { AttestationResult } from './legacy';
import { failureInfo, type SignatureResult } from './types';

function coded(err: unknown): ImgverifyError {
  return err instanceof ImgverifyError ? err : new ImgverifyError('SIGNATURE_MALFORMED', `bundle could not be processed: ${String(err)}`);
}

/** Verifies the bundle as a statement about `digest`; returns the statement for the caller to classify. */
export function verifyReferrerBundle(referrer: ReferrerBundle, digest: string, ctx: PolicyChecks): AttestationResult {
  const base = {
    source: 'referrer' as const,
    location: referrer.location,
    referrer: { listing: referrer.listing, ...(referrer.shape !== undefined ? { shape: referrer.shape } : {}) },
  };
  if (referrer.error) return { signature: { ...base, verified: false, failure: failureInfo(referrer.error) } };
  try {
    const [algorithm, hex] = digest.split(':') as [string, string];
    if (algorithm !== 'sha256') throw new ImgverifyError('PAYLOAD_DIGEST_MISMATCH', `bundles name sha256 subjects; the image digest is ${digest}`);
    const verified = verifyBundle(referrer.bundle!, { sha256: hex }, ctx);
    if (verified.content.kind !== 'dsse') {
      throw new ImgverifyError('PAYLOAD_INVALID', 'the bundle holds a message signature, not an in-toto statement about the image');
    }
    const statement = parseStatement(verified.content.payload);
    const signature: SignatureResult = {
      ...base,
      verified: true,
      signer: verified.signer,
      signedDigest: digest,
      ...(verified.tlog ? { tlog: verified.tlog } : {}),
    };
    return { signature, statement };
  } catch (err) {
    return { signature: { ...base, verified: false, failure: failureInfo(coded(err)) } };
  }
}
