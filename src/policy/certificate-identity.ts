/**
 * What a Fulcio certificate says about its signer: the subject alternative names (email,
 * URI, DNS, IP, and Sigstore's OtherName username), the OIDC issuer, and the workload claims.
 *
 * `@sigstore/core`'s `subjectAltName` returns only the first URI or email, so the names are
 * read from the extension's GeneralNames here, as cosign's `GetSubjectAlternateNames` does:
 * a policy identity may match any of them.
 */
import type { X509Certificate } from '@sigstore/core';
import { certificateClaims, type CertificateClaims } from './certificate-claims';

/** Fulcio's issuer extension, DER UTF8String (current). */
const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
/** Fulcio's issuer extension, raw string (deprecated, still on older certificates). */
const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
/** Sigstore's OtherName SAN for usernames. */
const OID_SIGSTORE_OTHERNAME = '1.3.6.1.4.1.57264.1.7';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

export type SubjectAlternativeName =
  | { type: 'email'; value: string }
  | { type: 'uri'; value: string }
  | { type: 'dns'; value: string }
  | { type: 'ip'; value: string }
  | { type: 'otherName'; value: string };

export interface CertificateIdentity {
  /** Every SAN of the certificate, in certificate order. */
  readonly subjectAlternativeNames: readonly SubjectAlternativeName[];
  /** OIDC issuer from extension .1.8, else .1.1; undefined when absent. */
  readonly issuer?: string;
  /** Fulcio's claims about the signing workload (./certificate-claims.ts), by name. */
  readonly claims: CertificateClaims;
  /**
   * Claims the certificate has but that could not be read, with why: a policy naming one fails.
   * @internal
   */
  readonly unreadableClaims?: Readonly<Record<string, string>>;
}

function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    return groups.join(':');
  }
  return bytes.toString('hex');
}

function subjectAlternativeNames(cert: X509Certificate): SubjectAlternativeName[] {
  const ext = cert.extension(OID_SUBJECT_ALT_NAME);
  if (!ext) return [];
  // extnValue is an OCTET STRING holding the GeneralNames SEQUENCE.
  const generalNames = ext.valueObj.subs[0]?.subs ?? [];
  const names: SubjectAlternativeName[] = [];
  for (const gn of generalNames) {
    if (gn.tag.isContextSpecific(0x01)) names.push({ type: 'email', value: gn.value.toString('utf8') });
    else if (gn.tag.isContextSpecific(0x02)) names.push({ type: 'dns', value: gn.value.toString('utf8') });
    else if (gn.tag.isContextSpecific(0x06)) names.push({ type: 'uri', value: gn.value.toString('utf8') });
    else if (gn.tag.isContextSpecific(0x07)) names.push({ type: 'ip', value: formatIp(gn.value) });
    else if (gn.tag.isContextSpecific(0x00)) {
      // OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }; Fulcio's value is a UTF8String.
      const [typeId, wrapped] = gn.subs;
      if (typeId && wrapped && typeId.toOID() === OID_SIGSTORE_OTHERNAME) {
        const inner = wrapped.subs[0];
        if (inner) names.push({ type: 'otherName', value: inner.value.toString('utf8') });
      }
    }
  }
  return names;
}

function issuerOf(cert: X509Certificate): string | undefined {
  const v2 = cert.extension(OID_FULCIO_ISSUER_V2);
  if (v2) {
    // extnValue OCTET STRING → UTF8String
    const inner = v2.valueObj.subs[0];
    return inner ? inner.value.toString('utf8') : undefined;
  }
  const v1 = cert.extension(OID_FULCIO_ISSUER_V1);
  return v1 ? v1.value.toString('utf8') : undefined;
}

/**
 * Reads the signer identity of a certificate. A malformed SAN, issuer or claim extension yields
 * no names / no issuer / no claim (and so fails any policy naming it) rather than an exception.
 */
export function certificateIdentity(cert: X509Certificate): CertificateIdentity {
  let sans: SubjectAlternativeName[];
  let issuer: string | undefined;
  try {
    sans = subjectAlternativeNames(cert);
  } catch {
    sans = [];
  }
  try {
    issuer = issuerOf(cert);
  } catch {
    issuer = undefined;
  }
  const { claims, unreadable } = certificateClaims(cert);
  return Object.freeze({
    subjectAlternativeNames: Object.freeze(sans),
    ...(issuer !== undefined ? { issuer } : {}),
    claims,
    ...(Object.keys(unreadable).length > 0 ? { unreadableClaims: unreadable } : {}),
  });
}
