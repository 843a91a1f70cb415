/**
 * `verify-blob`: a signed file through the one algorithm (./core.ts). The adapter
 * (./adapters/blob.ts) decodes the signature material; when it carries no log entry (a
 * signature and certificate as separate files, as the Kubernetes release binaries are
 * published), the entry is looked up in Rekor by the artifact's SHA-256, as cosign does, and
 * each entry Rekor offers is verified by the core exactly as a bundled one would be: SET or
 * inclusion proof with its signed checkpoint against the trusted root, and a body that names
 * this signature, this certificate (or key) and this digest. The first entry that passes
 * decides; Rekor's answers count for nothing before that.
 */
import { createHash } from 'node:crypto';
import { ImgverifyError, toImgverifyError } from '../errors';
import type { RekorClient } from '../rekor/client';
import { blobBundleInput, detachedSignatureInput, type BlobSignature } from './adapters/blob';
import type { PolicyChecks } from './policy-checks';
import { verdictFailure, verifySignature, type Artifact, type SignatureInput, type SignatureVerdict } from './core';

export interface BlobLookup {
  /** Where to look up the log entry of a signature that carries none; absent: offline. */
  readonly rekor?: RekorClient;
  readonly signal?: AbortSignal;
}

/** The verdict, and the Rekor entry it was found with when it was looked up. */
export interface BlobVerdict {
  readonly verdict: SignatureVerdict;
  readonly rekorEntry?: { readonly uuid: string; readonly url: string };
}

function throwing(verdict: SignatureVerdict): SignatureVerdict {
  if (!verdict.verified) throw verdictFailure(verdict);
  return verdict;
}

/** `artifact`: the file's bytes, or its SHA-256 (a file too large to hold, hashed as it was read). */
export async function verifyBlobSignature(ctx: PolicyChecks, artifact: Artifact, material: BlobSignature, lookup: BlobLookup): Promise<BlobVerdict> {
  if (material.bundle !== undefined) {
    if (material.signature !== undefined || material.certificate !== undefined || material.certificateChain !== undefined) {
      throw new ImgverifyError('INVALID_OPTIONS', 'give either a bundle or a signature with its certificate or key, not both');
    }
    return { verdict: throwing(verifySignature(blobBundleInput(artifact, material.bundle), ctx)) };
  }
  if (material.signature === undefined) throw new ImgverifyError('INVALID_OPTIONS', 'a signature (or a bundle) is required');
  // Decoding errors come first, before any network request.
  const offline = detachedSignatureInput(artifact, material, []);
  if (ctx.policy.options.insecureIgnoreTlog) return { verdict: throwing(verifySignature(offline, ctx)) };
  if (!lookup.rekor) {
    throw new ImgverifyError(
      'INVALID_OPTIONS',
      'the signature carries no transparency-log entry and looking it up in Rekor is not allowed offline: give a bundle, or verify online',
    );
  }
  const sha256 = 'bytes' in artifact ? createHash('sha256').update(artifact.bytes).digest('hex') : artifact.digest.hex;
  if (!('bytes' in artifact) && artifact.digest.algorithm !== 'sha256') {
    throw new ImgverifyError('INVALID_OPTIONS', 'Rekor indexes artifacts by SHA-256: give the file, or its SHA-256 digest');
  }
  const rekor = lookup.rekor;
  const uuids = await rekor.search(sha256, lookup.signal);
  if (uuids.length === 0) {
    throw new ImgverifyError('TLOG_ENTRY_MISSING', `Rekor at ${rekor.baseUrl.href} has no entry for the artifact (sha256:${sha256})`, {
      details: { rekor: rekor.baseUrl.href, sha256 },
    });
  }
  const failures: Array<{ uuid: string; failure: ImgverifyError; reachedSigner: boolean }> = [];
  let unanswered: ImgverifyError | undefined;
  for (const uuid of uuids) {
    let input: SignatureInput;
    let url: string;
    let found: string;
    try {
      const entry = await rekor.entry(uuid, lookup.signal);
      url = entry.url;
      found = entry.uuid;
      input = detachedSignatureInput(artifact, material, [entry.entry]);
    } catch (err) {
      const failure = toImgverifyError(err);
      if (lookup.signal?.aborted) throw failure;
      // This entry could not be read (a 404 for a UUID the index listed, a timeout): a later one
      // may still verify; if none does, no verdict can be given (below).
      if (failure.category !== 'verification') unanswered ??= failure;
      else failures.push({ uuid, failure, reachedSigner: false });
      continue;
    }
    const verdict = verifySignature(input, ctx);
    if (verdict.verified) return { verdict, rekorEntry: { uuid: found, url } };
    failures.push({ uuid, failure: verdictFailure(verdict), reachedSigner: verdict.signer !== undefined });
  }
  // None verified, and an entry could not be read: it might have been the one.
  if (unanswered !== undefined) throw unanswered;
  // None verified: the one that got furthest (a signer that the policy refused) says why.
  const best = failures.find((f) => f.reachedSigner) ?? failures[0]!;
  if (failures.length === 1) throw best.failure;
  const all = failures.map((f) => `${f.uuid}: ${f.failure.message} [${f.failure.code}]`).join('; ');
  throw new ImgverifyError(best.failure.code, `none of the ${failures.length} Rekor entries for sha256:${sha256} verifies this signature: ${all}`, {
    cause: best.failure,
    details: { ...best.failure.details, rekor: rekor.baseUrl.href, sha256, entries: failures.map((f) => f.uuid) },
  });
}
