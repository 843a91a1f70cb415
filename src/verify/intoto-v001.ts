/**
 * Rekor `intoto` 0.0.1 entries, which older cosign versions wrote for attestations and which
 * `@sigstore/verify` does not know (it verifies intoto 0.0.2 and dsse 0.0.1). For these
 * entries the two log checks are done here instead, hand-written because no maintained
 * package does them:
 *   - the SET: Rekor's signature over the canonical JSON {body, integratedTime, logID,
 *     logIndex}, by a trusted Rekor key valid at the integration time;
 *   - the body: `spec.content.hash` is the SHA-256 of the envelope as logged (the layer
 *     blob), `spec.content.payloadHash` (when present) that of the DSSE payload; the public
 *     key/certificate is compared with the signer by `checkRekorBodyNamesSigner`.
 * Everything else (certificate chain at the integration time, SCT, DSSE signature) still
 * goes through `@sigstore/verify`.
 */
import { createHash } from 'node:crypto';
import { json as sigstoreJson } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { ImgverifyError } from '../errors';
import type { RekorBundle } from '../cosign/legacy-signature';
import { isRecord } from '../util/shape';
import { verifyWithDefaultDigest } from './explicit-digest';

export function isIntotoV001(rekor: RekorBundle | undefined): boolean {
  if (!rekor) return false;
  try {
    const body = JSON.parse(rekor.body.toString('utf8')) as { kind?: unknown; apiVersion?: unknown };
    return body.kind === 'intoto' && body.apiVersion === '0.0.1';
  } catch {
    return false;
  }
}

function verifySet(rekor: RekorBundle, material: TrustMaterial): void {
  const at = new Date(rekor.integratedTime * 1000);
  const logs = material.tlogs.filter((t) => t.logID.equals(rekor.logID) && t.validFor.start <= at && at <= t.validFor.end);
  const signed = Buffer.from(
    sigstoreJson.canonicalize({
      body: rekor.body.toString('base64'),
      integratedTime: rekor.integratedTime,
      logIndex: rekor.logIndex,
      logID: rekor.logID.toString('hex'),
    }),
    'utf8',
  );
  if (!logs.some((log) => verifyWithDefaultDigest(signed, log.publicKey, rekor.signedEntryTimestamp))) {
    throw new ImgverifyError(
      'TLOG_INCLUSION_PROMISE_INVALID',
      'Rekor signed entry timestamp (SET) check failed: not signed by a trusted Rekor key valid at the integration time',
    );
  }
}

function hashValue(value: unknown): string | undefined {
  return isRecord(value) && value.algorithm === 'sha256' && typeof value.value === 'string' ? value.value : undefined;
}

/** Throws unless the intoto 0.0.1 entry is signed by a trusted log and logs this envelope. */
export function verifyIntotoV001Entry(rekor: RekorBundle, envelopeBytes: Buffer, payload: Buffer, material: TrustMaterial): void {
  verifySet(rekor, material);
  let body: unknown;
  try {
    body = JSON.parse(rekor.body.toString('utf8'));
  } catch {
    throw new ImgverifyError('TLOG_BODY_MISMATCH', 'Rekor entry body is not JSON');
  }
  const content = isRecord(body) && isRecord(body.spec) ? body.spec.content : undefined;
  const envelopeHash = hashValue(isRecord(content) ? content.hash : undefined);
  if (envelopeHash !== createHash('sha256').update(envelopeBytes).digest('hex')) {
    throw new ImgverifyError('TLOG_BODY_MISMATCH', 'Rekor entry body check failed: the logged envelope hash is not that of this attestation');
  }
  const payloadHash = isRecord(content) ? content.payloadHash : undefined;
  if (payloadHash !== undefined && hashValue(payloadHash) !== createHash('sha256').update(payload).digest('hex')) {
    throw new ImgverifyError('TLOG_BODY_MISMATCH', 'Rekor entry body check failed: the logged payload hash is not that of this attestation');
  }
}
