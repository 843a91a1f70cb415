/**
 * Who must have signed: certificate identity (SAN) and OIDC issuer, each exact or RE2
 * regexp, as cosign's `--certificate-identity[-regexp]` and
 * `--certificate-oidc-issuer[-regexp]` and policy-controller's keyless identities; and the
 * Fulcio claims the certificate must carry (./certificate-claims.ts), each exact or RE2 regexp,
 * as cosign's `--certificate-github-workflow-*` flags do for the GitHub ones.
 *
 * Exact matching is string equality, never a pattern (`@sigstore/verify` treats a string
 * SAN as a regexp search, which would let `a.b@x.com` match `axb@x.com`).
 */
import { ImgverifyError } from '../errors';
import { keysOf, rejectUnknownKeys } from '../util/options';
import { CERTIFICATE_CLAIM_NAMES, claimOid, isCertificateClaimName, type CertificateClaimName } from './certificate-claims';
import type { CertificateIdentity } from './certificate-identity';
import { compileRegExp, type CompiledRegExp } from './regexp';

/** Claims a certificate must carry, by name: each value exact (`claims`) or an RE2 regexp (`claimsRegExp`). */
export type ClaimMatchers = Partial<Record<CertificateClaimName, string>>;

/**
 * One acceptable signer. Exactly one of subject/subjectRegExp and one of issuer/issuerRegExp;
 * optionally claims the certificate must carry (every one of them), each either exact or a
 * regexp, never both.
 */
export interface IdentityMatcher {
  subject?: string;
  subjectRegExp?: string;
  issuer?: string;
  issuerRegExp?: string;
  /** Exact values of Fulcio claims, e.g. `{ sourceRepositoryIdentifier: '495574555' }`. */
  claims?: ClaimMatchers;
  /** RE2 regexps (matched as a search, like the others) on Fulcio claims, e.g. `{ sourceRepositoryRef: '^refs/tags/v' }`. */
  claimsRegExp?: ClaimMatchers;
}

export const IDENTITY_MATCHER_KEYS = keysOf<IdentityMatcher>()('subject', 'subjectRegExp', 'issuer', 'issuerRegExp', 'claims', 'claimsRegExp');

interface CompiledClaim {
  readonly name: CertificateClaimName;
  readonly test: (value: string) => boolean;
  /** What is expected, as failure messages say it: `"123"` or `/^refs\/tags\//`. */
  readonly text: string;
}

export interface CompiledIdentity {
  readonly description: string;
  readonly subject: (value: string) => boolean;
  readonly issuer: (value: string) => boolean;
  readonly claims: readonly CompiledClaim[];
}

type ClaimFailureCode = 'CLAIM_MISSING' | 'CLAIM_MISMATCH';

export type IdentityMatch =
  | {
      readonly ok: true;
      readonly subject: string;
      readonly issuer: string;
      /** The claims the matching identity named, with the certificate's values (absent when it named none). */
      readonly checkedClaims?: Readonly<Record<string, string>>;
    }
  | {
      readonly ok: false;
      readonly code: 'IDENTITY_MISMATCH' | 'ISSUER_MISMATCH' | ClaimFailureCode;
      readonly message: string;
      /** For a claim failure: the claim, its extension OID, what was expected and what the certificate says. */
      readonly details?: Readonly<Record<string, unknown>>;
    };

function exactOrPattern(
  exact: string | undefined,
  pattern: string | undefined,
  field: string,
  where: string,
): {
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

function claimMap(value: unknown, field: string, where: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ImgverifyError('INVALID_POLICY', `${where}: ${field} must be an object of claim names and values`);
  }
  for (const name of Object.keys(value)) {
    if (!isCertificateClaimName(name)) {
      throw new ImgverifyError(
        'INVALID_POLICY',
        `${where}: ${field}: unknown certificate claim ${JSON.stringify(name)} (known: ${CERTIFICATE_CLAIM_NAMES.join(', ')})`,
      );
    }
    // A claim named with no value (an unset environment variable) would check nothing: refused, as null is.
    if ((value as Record<string, unknown>)[name] === undefined) {
      throw new ImgverifyError('INVALID_POLICY', `${where}: ${field}.${name} is undefined (an unset variable?): give a value, or leave the claim out`);
    }
  }
  return value as Record<string, unknown>;
}

function compileClaims(matcher: IdentityMatcher, where: string): CompiledClaim[] {
  const exact = claimMap(matcher.claims, 'claims', where);
  const patterns = claimMap(matcher.claimsRegExp, 'claimsRegExp', where);
  const out: CompiledClaim[] = [];
  for (const name of CERTIFICATE_CLAIM_NAMES) {
    const e = exact[name];
    const p = patterns[name];
    if (e === undefined && p === undefined) continue;
    if (e !== undefined && p !== undefined) {
      throw new ImgverifyError('INVALID_POLICY', `${where}: claim ${name}: give it either in claims or in claimsRegExp, not both`);
    }
    if (e !== undefined) {
      if (typeof e !== 'string' || e.length === 0) throw new ImgverifyError('INVALID_POLICY', `${where}: claims.${name} must be a non-empty string`);
      out.push(Object.freeze({ name, test: (v: string) => v === e, text: JSON.stringify(e) }));
    } else {
      const re = compileRegExp(p as string, `${where}: claimsRegExp.${name}`);
      out.push(Object.freeze({ name, test: re.test, text: `/${re.source}/` }));
    }
  }
  return out;
}

export function compileIdentity(matcher: IdentityMatcher, where = 'identity'): CompiledIdentity {
  if (typeof matcher !== 'object' || matcher === null) throw new ImgverifyError('INVALID_POLICY', `${where}: not an object`);
  rejectUnknownKeys(matcher, IDENTITY_MATCHER_KEYS, where, 'INVALID_POLICY');
  const subject = exactOrPattern(matcher.subject, matcher.subjectRegExp, 'subject', where);
  const issuer = exactOrPattern(matcher.issuer, matcher.issuerRegExp, 'issuer', where);
  const claims = compileClaims(matcher, where);
  const withClaims = claims.length > 0 ? ` with ${claims.map((c) => `${c.name} ${c.text}`).join(', ')}` : '';
  return Object.freeze({
    description: `subject ${subject.text} issued by ${issuer.text}${withClaims}`,
    subject: subject.test,
    issuer: issuer.test,
    claims: Object.freeze(claims),
  });
}

type ClaimFailure = Extract<IdentityMatch, { ok: false }>;

/** The first claim of `candidate` the certificate does not satisfy, or undefined when all are. */
function failingClaim(identity: CertificateIdentity, candidate: CompiledIdentity, subject: string): ClaimFailure | undefined {
  for (const c of candidate.claims) {
    const oid = claimOid(c.name);
    const actual = identity.claims[c.name];
    const who = `certificate identity ${JSON.stringify(subject)} (issuer ${JSON.stringify(identity.issuer)})`;
    if (actual === undefined) {
      const why = identity.unreadableClaims?.[c.name];
      return {
        ok: false,
        code: 'CLAIM_MISSING',
        message: why
          ? `${who} matches, but its ${c.name} claim cannot be read (${why}): expected ${c.text}`
          : `${who} matches, but the certificate has no ${c.name} claim (extension ${oid}): expected ${c.text}`,
        details: { claim: c.name, oid, expected: c.text, ...(why ? { unreadable: why } : {}) },
      };
    }
    if (!c.test(actual)) {
      return {
        ok: false,
        code: 'CLAIM_MISMATCH',
        message: `${who} matches, but its ${c.name} claim ${JSON.stringify(actual)} does not: expected ${c.text}`,
        details: { claim: c.name, oid, expected: c.text, actual },
      };
    }
  }
  return undefined;
}

/**
 * Checks a signer against a list of acceptable identities (any one suffices). The failure
 * names what the certificate says and what was expected: a claim failure of an identity whose
 * subject and issuer matched first, then an issuer mismatch, then the identity mismatch.
 */
export function matchIdentity(identity: CertificateIdentity, accepted: readonly CompiledIdentity[]): IdentityMatch {
  const names = identity.subjectAlternativeNames.map((san) => san.value);
  let issuerMismatch: string | undefined;
  let claimFailure: ClaimFailure | undefined;
  for (const candidate of accepted) {
    const subjects = names.filter((name) => candidate.subject(name));
    if (subjects.length === 0) continue;
    if (identity.issuer !== undefined && candidate.issuer(identity.issuer)) {
      const failure = failingClaim(identity, candidate, subjects[0]!);
      if (failure === undefined) {
        const checked = Object.fromEntries(candidate.claims.map((c) => [c.name, identity.claims[c.name]!]));
        return { ok: true, subject: subjects[0]!, issuer: identity.issuer, ...(candidate.claims.length > 0 ? { checkedClaims: checked } : {}) };
      }
      claimFailure ??= failure;
      continue;
    }
    issuerMismatch ??= candidate.description;
  }
  if (claimFailure !== undefined) {
    if (accepted.length === 1) return claimFailure;
    const expected = accepted.map((a) => a.description).join('; or ');
    return { ...claimFailure, message: `${claimFailure.message} (policy: ${expected})` };
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
