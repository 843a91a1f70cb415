/**
 * In-toto predicate types by cosign's short names (`cosign attest --type`,
 * `cosign verify-attestation --type`, policy-controller's `attestations[].predicateType`).
 *
 * The table is cosign's `options.PredicateTypeMap` (cmd/cosign/cli/options/predicate.go);
 * anything else must be a URI as Go's `url.ParseRequestURI` accepts it, used as is
 * (cosign's `ParsePredicateType`). An attestation satisfies a requested type when its
 * statement's `predicateType` equals the resolved URI exactly.
 */

/** cosign's short predicate type names and the URIs they stand for. */
export const PREDICATE_TYPES = Object.freeze({
  /** cosign's own wrapper for arbitrary data (`{Data, Timestamp}`). */
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  /** SLSA provenance v0.2 (in-toto `slsa_provenance/v0.2`). */
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  /** SLSA provenance v1 (in-toto `slsa_provenance/v1`). */
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  /** in-toto 0.9 link. */
  link: 'https://in-toto.io/Link/v1',
  /** cosign's vulnerability scan predicate. */
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
} as const);

export type PredicateTypeName = keyof typeof PREDICATE_TYPES;

export const PREDICATE_TYPE_NAMES: readonly PredicateTypeName[] = Object.freeze(Object.keys(PREDICATE_TYPES) as PredicateTypeName[]);

function isPredicateTypeName(value: string): value is PredicateTypeName {
  return Object.prototype.hasOwnProperty.call(PREDICATE_TYPES, value);
}

/**
 * The predicate type URI for a short name or a URI, or undefined when `value` is neither
 * (cosign: "invalid predicate type"). Callers raise their own error code.
 */
export function predicateTypeURI(value: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (isPredicateTypeName(value)) return PREDICATE_TYPES[value];
  return isRequestURI(value) ? value : undefined;
}

// --- Go's url.ParseRequestURI, as an accept/reject predicate ---------------------------

const HEX = /^[0-9A-Fa-f]{2}$/;

/** Every "%" is followed by two hex digits (Go's unescape). */
function validEscapes(s: string): boolean {
  for (let i = s.indexOf('%'); i !== -1; i = s.indexOf('%', i + 1)) {
    if (!HEX.test(s.slice(i + 1, i + 3))) return false;
  }
  return true;
}

/** Go's shouldEscape(c, encodeHost) for ASCII: the characters a host may not contain. */
function hostCharAllowed(c: string): boolean {
  return /[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]/.test(c) || c.charCodeAt(0) >= 0x80;
}

function validOptionalPort(port: string): boolean {
  return port === '' || /^:[0-9]*$/.test(port);
}

function validHost(host: string): boolean {
  if (host.startsWith('[')) {
    const close = host.lastIndexOf(']');
    if (close < 0 || !validOptionalPort(host.slice(close + 1))) return false;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1 && !validOptionalPort(host.slice(colon))) return false;
  }
  if (!validEscapes(host)) return false;
  // In a host, %-escapes are only allowed for non-ASCII bytes, and %25 (IPv6 zones).
  for (let i = host.indexOf('%'); i !== -1; i = host.indexOf('%', i + 1)) {
    if (parseInt(host[i + 1]!, 16) < 8 && host.slice(i, i + 3) !== '%25') return false;
  }
  return [...host.replace(/%[0-9A-Fa-f]{2}/g, '')].every(hostCharAllowed);
}

function validAuthority(authority: string): boolean {
  const at = authority.lastIndexOf('@');
  if (at === -1) return validHost(authority);
  const userinfo = authority.slice(0, at);
  return validHost(authority.slice(at + 1)) && /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo) && validEscapes(userinfo);
}

/**
 * Whether Go's `url.ParseRequestURI` accepts `s`: an absolute URI (`scheme:...`, with a
 * well-formed authority when it has `//`) or an absolute path (`/...`). No fragment
 * handling, as in Go: `#` is part of the path.
 */
export function isRequestURI(s: string): boolean {
  if (typeof s !== 'string' || s.length === 0) return false;
  // eslint-disable-next-line no-control-regex -- Go rejects ASCII control bytes here; matching them is the point
  if (/[\x00-\x1f\x7f]/.test(s)) return false;
  if (s === '*') return true;

  let scheme = '';
  let rest = s;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) break;
      continue;
    }
    if (c === ':') {
      if (i === 0) return false; // "missing protocol scheme"
      scheme = s.slice(0, i);
      rest = s.slice(i + 1);
    }
    break;
  }

  const query = rest.indexOf('?');
  if (query !== -1) rest = rest.slice(0, query);

  if (!rest.startsWith('/')) return scheme !== ''; // opaque URI, or a relative path (rejected)

  if (scheme !== '' && rest.startsWith('//')) {
    const authorityAndPath = rest.slice(2);
    const slash = authorityAndPath.indexOf('/');
    const authority = slash === -1 ? authorityAndPath : authorityAndPath.slice(0, slash);
    rest = slash === -1 ? '' : authorityAndPath.slice(slash);
    if (!validAuthority(authority)) return false;
  }
  return validEscapes(rest);
}
