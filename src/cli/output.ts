/** Rendering of verification results: JSON for machines, one line per image for people. */
import type { ImageVerificationResult, SignatureResult } from '..';

export function resultToJSON(result: ImageVerificationResult): Record<string, unknown> {
  const { error, ...rest } = result;
  return { ...rest, ...(error ? { error: error.toJSON() } : {}) };
}

function signerText(sig: SignatureResult): string {
  const s = sig.signer;
  if (!s) return 'unknown signer';
  if (s.publicKeySha256) return `key sha256:${s.publicKeySha256.slice(0, 16)}…`;
  return `${s.subject ?? '(no identity)'} (issuer ${s.issuer ?? 'unknown'}${claimsText(s.verifiedClaims)})`;
}

/** `; sourceRepositoryIdentifier=123, ...`: the claims a policy checked, for one-line output. */
export function claimsText(claims: Readonly<Record<string, string>> | undefined): string {
  if (!claims || Object.keys(claims).length === 0) return '';
  return `; ${Object.entries(claims)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}`;
}

/** `registry/repo:tag@sha256:…` as far as it is known. */
function pinned(result: ImageVerificationResult): string {
  return result.pinnedReference ?? result.reference ?? result.image;
}

export function resultToText(result: ImageVerificationResult): string {
  if (result.verified) {
    const good = result.signatures.filter((s) => s.verified);
    const first = good[0]!;
    const when = first.tlog?.integratedTime ? `, logged ${first.tlog.integratedTime}` : '';
    const more = good.length > 1 ? ` (+${good.length - 1} more valid signature${good.length > 2 ? 's' : ''})` : '';
    return `VERIFIED  ${pinned(result)}  signed by ${signerText(first)}${when}${more}`;
  }
  const { error } = result;
  const label = error.category === 'verification' ? 'FAILED  ' : 'ERROR   ';
  return `${label}  ${pinned(result)}  ${error.message} [${error.code}]`;
}
