/**
 * Who must have signed: certificate identity (SAN) and OIDC issuer, each exact or RE2
 * regexp, as cosign's `--certificate-identity[-regexp]` and
 * `--certificate-oidc-issuer[-regexp]` and policy-controller's keyless identities.
 *
 * Exact matching is string equality, never a pattern (`@sigstore/verify` treats a string
 * SAN as a regexp search, which would let `a.b@x.com` match `axb@x.com`).
 */
import { ImgverifyError } from '../errors';
import type { CertificateIdentity } from './certificate-identity';
import { compileRegExp, type CompiledRegExp } from './regexp';

/** One acceptable signer. Exactly one of subject/subjectRegExp and one of issuer/issuerRegExp. */
export interface IdentityMatcher {
  subject?: string;
  subjectRegExp?: string;
  issuer?: string;
  issuerRegExp?: string;
}

export interface CompiledIdentity {
  readonly description: string;
  readonly subject: (value: string) => boolean;
  readonly issuer: (value: string) => boolean;
}

export type IdentityMatch =
  | { readonly ok: true; readonly subject: string; readonly issuer: string }
  | { readonly ok: false; readonly code: 'IDENTITY_MISMATCH' | 'ISSUER_MISMATCH'; readonly message: string };

function exactOrPattern(exact: string | undefined, pattern: string | undefined, field: string, where: string): {
  test: (v: string) => boolean;
  text: string;
} {
  if (exact !== undefined && pattern !== undefined) {
    throw new ImgverifyError('INVALID_POLICY', `${where}: give either ${field} or ${field}RegExp, not both`);
  }
  if (exact !== undefined) {
    if (typeof exact !== 'string' || exact.length === 0) throw new ImgverifyError('INVALID_POLICY', `${where}: ${field} is empty`);
    return { test: (v) => v === exact, text: JSON.stringify(exact) };
  }
  if (pattern !== undefined) {
    const re: CompiledRegExp = compileRegExp(pattern, `${where}: ${field}RegExp`);
    return { test: re.test, text: `/${pattern}/` };
  }
  throw new ImgverifyError('INVALID_POLICY', `${where}: ${field} or ${field}RegExp is required`);
}

export function compileIdentity(matcher: IdentityMatcher, where = 'identity'): CompiledIdentity {
  if (typeof matcher !== 'object' || matcher === null) throw new ImgverifyError('INVALID_POLICY', `${where}: not an object`);
  const subject = exactOrPattern(matcher.subject, matcher.subjectRegExp, 'subject', where);
  const issuer = exactOrPattern(matcher.issuer, matcher.issuerRegExp, 'issuer', where);
  return Object.freeze({
    description: `subject ${subject.text} issued by ${issuer.text}`,
    subject: subject.test,
    issuer: issuer.test,
  });
}

/**
 * Checks a signer against a list of acceptable identities (any one suffices). The failure
 * names what the certificate says and what was expected.
 */
export function matchIdentity(identity: CertificateIdentity, accepted: readonly CompiledIdentity[]): IdentityMatch {
  const names = identity.subjectAlternativeNames.map((san) => san.value);
  let issuerMismatch: string | undefined;
  for (const candidate of accepted) {
    const subject = names.find((name) => candidate.subject(name));
    if (subject === undefined) continue;
    if (identity.issuer !== undefined && candidate.issuer(identity.issuer)) {
      return { ok: true, subject, issuer: identity.issuer };
    }
    issuerMismatch ??= candidate.description;
  }
  const got = names.length > 0 ? names.map((n) => JSON.stringify(n)).join(', ') : '(no subject alternative name)';
  const issuer = identity.issuer === undefined ? '(no issuer extension)' : JSON.stringify(identity.issuer);
  const expected = accepted.map((a) => a.description).join('; or ');
  if (issuerMismatch !== undefined) {
    return {
      ok: false,
      code: 'ISSUER_MISMATCH',
      message: `certificate identity ${got} matches, but its OIDC issuer ${issuer} does not: expected ${expected}`,
    };
  }
  return { ok: false, code: 'IDENTITY_MISMATCH', message: `certificate identity ${got} (issuer ${issuer}) does not match: expected ${expected}` };
}
