/**
 * The claims Fulcio writes into a certificate about the workload that signed: the extensions
 * under 1.3.6.1.4.1.57264.1 (Fulcio's docs/oid-info.md) other than the OIDC issuer (.1, .8) and
 * the OtherName SAN type (.7), which are read with the identity (./certificate-identity.ts).
 *
 *   .2–.6   GitHub workflow trigger, SHA, name, repository, ref (deprecated): raw bytes, no DER
 *   .9–.23  build signer URI/digest, runner environment, source repository URI/digest/ref/
 *           identifier, owner URI/identifier, build config URI/digest, build trigger, run
 *           invocation URI, source repository visibility, deployment environment: DER UTF8String
 *
 * Names are those cosign prints for the GitHub claims (`githubWorkflowSha`, ...) and the JSON
 * names of Fulcio's `certificate.Extensions` for the others (`sourceRepositoryIdentifier`, ...).
 * An extension of the arc that imgverify does not know (.24 onwards) is reported under its OID
 * when its value is a DER UTF8String, as cosign reports extensions it has no name for.
 *
 * Certificates are hostile input until the chain is verified, and even then a CA may write an
 * odd value: a claim that cannot be read (not UTF-8, not a DER UTF8String, trailing bytes, an
 * extension that appears twice) is not reported, and a policy that names it fails, saying why.
 * Hand-written: the DER here is one primitive string, and `@sigstore/core`'s parser is lenient
 * (it accepts trailing bytes and non-minimal lengths), which a policy check must not be.
 */
import type { X509Certificate } from '@sigstore/core';

const FULCIO_ARC = '1.3.6.1.4.1.57264.1.';

/** The name of a Fulcio certificate claim imgverify knows. */
export type CertificateClaimName =
  | 'githubWorkflowTrigger'
  | 'githubWorkflowSha'
  | 'githubWorkflowName'
  | 'githubWorkflowRepository'
  | 'githubWorkflowRef'
  | 'buildSignerURI'
  | 'buildSignerDigest'
  | 'runnerEnvironment'
  | 'sourceRepositoryURI'
  | 'sourceRepositoryDigest'
  | 'sourceRepositoryRef'
  | 'sourceRepositoryIdentifier'
  | 'sourceRepositoryOwnerURI'
  | 'sourceRepositoryOwnerIdentifier'
  | 'buildConfigURI'
  | 'buildConfigDigest'
  | 'buildTrigger'
  | 'runInvocationURI'
  | 'sourceRepositoryVisibilityAtSigning'
  | 'deploymentEnvironment';

interface ClaimSpec {
  readonly name: CertificateClaimName;
  readonly oid: string;
  /** `raw`: the extension value is the string's bytes (v1); `der`: a DER UTF8String (v2). */
  readonly encoding: 'raw' | 'der';
}

function claim(name: CertificateClaimName, arc: number, encoding: 'raw' | 'der'): ClaimSpec {
  return Object.freeze({ name, oid: `${FULCIO_ARC}${arc}`, encoding });
}

/** Every claim imgverify knows, in OID order. @internal */
export const CERTIFICATE_CLAIMS: readonly ClaimSpec[] = Object.freeze([
  claim('githubWorkflowTrigger', 2, 'raw'),
  claim('githubWorkflowSha', 3, 'raw'),
  claim('githubWorkflowName', 4, 'raw'),
  claim('githubWorkflowRepository', 5, 'raw'),
  claim('githubWorkflowRef', 6, 'raw'),
  claim('buildSignerURI', 9, 'der'),
  claim('buildSignerDigest', 10, 'der'),
  claim('runnerEnvironment', 11, 'der'),
  claim('sourceRepositoryURI', 12, 'der'),
  claim('sourceRepositoryDigest', 13, 'der'),
  claim('sourceRepositoryRef', 14, 'der'),
  claim('sourceRepositoryIdentifier', 15, 'der'),
  claim('sourceRepositoryOwnerURI', 16, 'der'),
  claim('sourceRepositoryOwnerIdentifier', 17, 'der'),
  claim('buildConfigURI', 18, 'der'),
  claim('buildConfigDigest', 19, 'der'),
  claim('buildTrigger', 20, 'der'),
  claim('runInvocationURI', 21, 'der'),
  claim('sourceRepositoryVisibilityAtSigning', 22, 'der'),
  claim('deploymentEnvironment', 23, 'der'),
]);

/** The names of the claims imgverify knows, in OID order. */
export const CERTIFICATE_CLAIM_NAMES: readonly CertificateClaimName[] = Object.freeze(CERTIFICATE_CLAIMS.map((c) => c.name));

/** The certificate extension (OID) of each claim, e.g. sourceRepositoryIdentifier → 1.3.6.1.4.1.57264.1.15. */
export const CERTIFICATE_CLAIM_OIDS: Readonly<Record<CertificateClaimName, string>> = Object.freeze(
  Object.fromEntries(CERTIFICATE_CLAIMS.map((c) => [c.name, c.oid])) as Record<CertificateClaimName, string>,
);

/**
 * A certificate's claims by name (`CertificateClaimName`; an extension of the Fulcio arc that
 * has no name yet under its dotted OID). Only claims the certificate has, and that could be read.
 */
export type CertificateClaims = Readonly<Record<string, string>>;

const BY_OID: ReadonlyMap<string, ClaimSpec> = new Map(CERTIFICATE_CLAIMS.map((c) => [c.oid, c]));
const BY_NAME: ReadonlyMap<string, ClaimSpec> = new Map(CERTIFICATE_CLAIMS.map((c) => [c.name, c]));

export function isCertificateClaimName(name: string): name is CertificateClaimName {
  return BY_NAME.has(name);
}

/** The extension OID of a known claim. */
export function claimOid(name: CertificateClaimName): string {
  return BY_NAME.get(name)!.oid;
}

/** Arcs of 1.3.6.1.4.1.57264.1 that are not claims: issuer v1 and v2, the OtherName SAN type. */
const NOT_CLAIMS = new Set([1, 7, 8]);

export interface ParsedClaims {
  readonly claims: CertificateClaims;
  /** Claims (by name or OID) present in the certificate but unreadable, with why. */
  readonly unreadable: Readonly<Record<string, string>>;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * A DER UTF8String (tag 0x0C, definite minimal length, nothing after it), as Fulcio writes
 * its v2 extensions and Go's `asn1.Unmarshal` checks them. Returns the string, or why not.
 */
export function parseDerUtf8String(der: Uint8Array): { readonly value: string } | { readonly error: string } {
  if (der.length < 2) return { error: 'too short for a DER string' };
  if (der[0] !== 0x0c) return { error: `not a DER UTF8String (tag 0x${der[0]!.toString(16).padStart(2, '0')})` };
  let length = der[1]!;
  let offset = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) return { error: 'indefinite length is not DER' };
    if (count > 4) return { error: 'length too large' };
    if (der.length < 2 + count) return { error: 'truncated length' };
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[2 + i]!;
    if (der[2] === 0 || length < 0x80) return { error: 'length is not minimally encoded (not DER)' };
    offset = 2 + count;
  }
  if (der.length < offset + length) return { error: 'truncated value' };
  if (der.length > offset + length) return { error: 'trailing bytes after the string' };
  const value = utf8(der.subarray(offset));
  return value === undefined ? { error: 'not valid UTF-8' } : { value };
}

/** The arc number under 1.3.6.1.4.1.57264.1 of an OID, or undefined. */
function fulcioArc(oid: string): number | undefined {
  if (!oid.startsWith(FULCIO_ARC)) return undefined;
  const rest = oid.slice(FULCIO_ARC.length);
  return /^[1-9]\d{0,8}$/.test(rest) ? Number(rest) : undefined;
}

/** The extensions of a certificate as (OID, value bytes); an extension that does not parse is skipped. */
function extensionsOf(cert: X509Certificate): Array<{ oid: string; value: Buffer }> {
  const out: Array<{ oid: string; value: Buffer }> = [];
  for (const ext of cert.extensions) {
    try {
      const oid = ext.subs[0]?.toOID();
      const value = ext.subs[ext.subs.length - 1]?.value;
      if (oid !== undefined && value !== undefined && ext.subs.length >= 2) out.push({ oid, value });
    } catch {
      // Not an extension we can read: it cannot be a claim either.
    }
  }
  return out;
}

/** Reads every Fulcio claim of a certificate. Never throws. */
export function certificateClaims(cert: X509Certificate): ParsedClaims {
  const claims: Record<string, string> = {};
  const unreadable: Record<string, string> = {};
  let extensions: Array<{ oid: string; value: Buffer }>;
  try {
    extensions = extensionsOf(cert);
  } catch {
    extensions = [];
  }
  const seen = new Set<string>();
  for (const { oid, value } of extensions) {
    const arc = fulcioArc(oid);
    if (arc === undefined || NOT_CLAIMS.has(arc)) continue;
    const spec = BY_OID.get(oid);
    const key = spec?.name ?? oid;
    if (seen.has(key)) {
      // RFC 5280 4.2: an extension appears at most once. Which one would count is ambiguous.
      delete claims[key];
      unreadable[key] = `extension ${oid} appears more than once`;
      continue;
    }
    seen.add(key);
    if (spec?.encoding === 'raw') {
      const text = utf8(value);
      if (text === undefined) unreadable[key] = `extension ${oid} is not valid UTF-8`;
      else claims[key] = text;
      continue;
    }
    const parsed = parseDerUtf8String(value);
    if ('value' in parsed) claims[key] = parsed.value;
    // An extension without a name, in another encoding: its meaning is unknown, so it is left out.
    else if (spec) unreadable[key] = `extension ${oid} is malformed: ${parsed.error}`;
  }
  return { claims: Object.freeze(sortedByOid(claims)), unreadable: Object.freeze(unreadable) };
}

/** Known claims in OID order, then unnamed OIDs: a stable order for JSON output. */
function sortedByOid(claims: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of CERTIFICATE_CLAIMS) if (spec.name in claims) out[spec.name] = claims[spec.name]!;
  for (const key of Object.keys(claims)
    .filter((k) => !BY_NAME.has(k))
    .sort((a, b) => (fulcioArc(a) ?? 0) - (fulcioArc(b) ?? 0))) {
    out[key] = claims[key]!;
  }
  return out;
}
