/**
 * Parsing an X.509 certificate from untrusted bytes.
 *
 * `@sigstore/core`'s `X509Certificate.parse` only reads the outer DER; every field is located
 * lazily, by position, when first read, and a certificate whose structure is not X.509's
 * (found by fuzzing: a tbsCertificate without enough elements, an extension that is not a
 * SEQUENCE starting with an OID) makes those getters throw TypeErrors deep inside the
 * verification (`@sigstore/verify`'s chain check, `isCA`, the extension readers), which is
 * a crash (INTERNAL_ERROR) instead of "malformed certificate". So the fields the verifier and
 * `@sigstore/verify` read are read once here, at the boundary; a certificate that passes can
 * be handed on. (Worth offering upstream: a structural check in `X509Certificate.parse`.)
 */
import { X509Certificate } from '@sigstore/core';
import { errorMessage } from './describe';

/**
 * Parses DER (or PEM) and reads every field the verification reads; throws a plain Error
 * saying what is wrong (callers wrap it in their error code).
 */
export function readCertificate(der: Uint8Array | string): X509Certificate {
  const cert = X509Certificate.parse(typeof der === 'string' ? der : Buffer.from(der));
  const tbs = cert.root.subs[0];
  if (cert.root.subs.length !== 3 || tbs === undefined || tbs.subs.length < 7) throw new Error('not an X.509 certificate structure');
  try {
    void cert.version;
    void cert.serialNumber;
    void cert.issuer;
    void cert.subject;
    void cert.publicKey;
    if (!(cert.notBefore instanceof Date) || Number.isNaN(cert.notBefore.getTime())) throw new Error('bad notBefore');
    if (!(cert.notAfter instanceof Date) || Number.isNaN(cert.notAfter.getTime())) throw new Error('bad notAfter');
    void cert.signatureAlgorithm;
    void cert.signatureValue;
    for (const ext of cert.extensions) {
      if (ext.subs.length < 2) throw new Error('an extension without a value');
      void ext.subs[0]!.toOID();
    }
    void cert.isCA;
    void cert.extBasicConstraints?.pathLenConstraint;
    // Read by isCA only for CA certificates; a key usage that is not a BIT STRING is malformed
    // whatever the certificate (found by fuzzing).
    void cert.extKeyUsage?.digitalSignature;
    void cert.subjectAltName;
    void cert.extSubjectKeyID?.keyIdentifier;
    void cert.extAuthorityKeyID?.keyIdentifier;
    void cert.extSCT?.signedCertificateTimestamps;
  } catch (err) {
    throw new Error(`malformed certificate structure (${errorMessage(err)})`, { cause: err });
  }
  return cert;
}
