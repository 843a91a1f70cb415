// Object identifiers used by the test Sigstore, in one place so the certificate and CMS
// builders read like the specifications they follow.

export const OID = {
  // Algorithms
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  ed25519: '1.3.101.112',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',

  // Distinguished name attributes
  commonName: '2.5.4.3',
  organization: '2.5.4.10',

  // X.509 extensions (RFC 5280)
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  ekuCodeSigning: '1.3.6.1.5.5.7.3.3',
  ekuTimeStamping: '1.3.6.1.5.5.7.3.8',

  // Certificate Transparency (RFC 6962): embedded SCT list
  sctList: '1.3.6.1.4.1.11129.2.4.2',

  // Sigstore / Fulcio (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md)
  fulcioIssuerV1: '1.3.6.1.4.1.57264.1.1', // deprecated: raw string, not DER
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8', // DER UTF8String
  fulcioOtherNameSan: '1.3.6.1.4.1.57264.1.7', // OtherName SAN type (UTF8String)
  sigstoreTsaPolicy: '1.3.6.1.4.1.57264.2',

  // CMS / PKCS #9 / RFC 3161
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
} as const;
