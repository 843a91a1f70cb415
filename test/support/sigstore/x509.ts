// X.509 v3 certificate assembly (RFC 5280) on top of the DER writer. Split in two steps,
// encodeTbs() and signTbs(), because Fulcio's embedded SCT is computed over the TBS *before*
// the SCT extension is added (RFC 6962 precertificate), then the final TBS is signed.
import crypto, { type KeyObject } from 'node:crypto';
import * as der from './der';
import { defaultHashFor, sign, spkiDer } from './keys';
import { OID } from './oids';

export interface Extension {
  oid: string;
  critical?: boolean;
  /** The extnValue content: usually a DER encoding, but Fulcio's deprecated OIDs hold raw strings. */
  value: NonSharedBuffer;
}

export interface CertificateFields {
  /** Unsigned big-endian serial number. */
  serialNumber: NonSharedBuffer;
  issuer: NonSharedBuffer; // DER Name
  subject: NonSharedBuffer; // DER Name
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  extensions: Extension[];
}

/** A Name of single-valued RDNs; PrintableString values as in Fulcio's CA certificates. */
export function distinguishedName(attributes: { organization?: string; commonName?: string }): NonSharedBuffer {
  const rdns: NonSharedBuffer[] = [];
  if (attributes.organization !== undefined) {
    rdns.push(der.setOf(der.sequence(der.objectIdentifier(OID.organization), der.printableString(attributes.organization))));
  }
  if (attributes.commonName !== undefined) {
    rdns.push(der.setOf(der.sequence(der.objectIdentifier(OID.commonName), der.printableString(attributes.commonName))));
  }
  return der.sequence(...rdns);
}

/** A positive 20-byte random serial, as Fulcio and Go's x509 use. */
export function randomSerialNumber(): NonSharedBuffer {
  const serial = crypto.randomBytes(20);
  serial[0]! &= 0x7f; // keep it positive without a padding byte
  serial[0]! |= 0x01; // and non-zero-leading, so it stays 20 bytes
  return serial;
}

/** The AlgorithmIdentifier a CA key signs certificates with. */
function signatureAlgorithmFor(signer: KeyObject): NonSharedBuffer {
  switch (signer.asymmetricKeyType) {
    case 'ec': {
      const hash = defaultHashFor(signer);
      const oid = hash === 'sha384' ? OID.ecdsaWithSha384 : hash === 'sha512' ? OID.ecdsaWithSha512 : OID.ecdsaWithSha256;
      return der.algorithmIdentifier(oid); // ECDSA: parameters absent (RFC 5758)
    }
    case 'rsa':
      return der.algorithmIdentifier(OID.sha256WithRsa, der.nullValue());
    case 'ed25519':
      return der.algorithmIdentifier(OID.ed25519);
    default:
      throw new Error(`unsupported signing key ${signer.asymmetricKeyType}`);
  }
}

/** TBSCertificate for a given signer (the signature algorithm is part of the TBS). */
export function encodeTbs(fields: CertificateFields, signer: KeyObject): NonSharedBuffer {
  const extensions = fields.extensions.map((ext) =>
    der.sequence(
      der.objectIdentifier(ext.oid),
      ...(ext.critical ? [der.boolean(true)] : []), // DEFAULT FALSE is omitted in DER
      der.octetString(ext.value),
    ),
  );
  return der.sequence(
    der.explicit(0, der.integer(2)), // v3
    der.integer(fields.serialNumber),
    signatureAlgorithmFor(signer),
    fields.issuer,
    der.sequence(der.x509Time(fields.notBefore), der.x509Time(fields.notAfter)),
    fields.subject,
    spkiDer(fields.publicKey),
    ...(extensions.length ? [der.explicit(3, der.sequence(...extensions))] : []),
  );
}

export function signTbs(tbs: NonSharedBuffer, signer: KeyObject): NonSharedBuffer {
  const signature = sign(tbs, signer, defaultHashFor(signer));
  return der.sequence(tbs, signatureAlgorithmFor(signer), der.bitString(signature));
}

// ---- Extension builders -------------------------------------------------------------

export function basicConstraints(ca: boolean, pathLength?: number): Extension {
  const fields: NonSharedBuffer[] = [];
  if (ca) fields.push(der.boolean(true));
  if (ca && pathLength !== undefined) fields.push(der.integer(pathLength));
  return { oid: OID.basicConstraints, critical: true, value: der.sequence(...fields) };
}

export const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

export function keyUsage(...bits: number[]): Extension {
  return { oid: OID.keyUsage, critical: true, value: der.namedBits(bits) };
}

export function extKeyUsage(oids: string[], critical = false): Extension {
  return { oid: OID.extKeyUsage, critical, value: der.sequence(...oids.map((o) => der.objectIdentifier(o))) };
}

/** RFC 5280 method 1 key identifier: SHA-1 of the subjectPublicKey BIT STRING contents (as Go does). */
function keyIdentifier(publicKey: KeyObject): NonSharedBuffer {
  const spki = spkiDer(publicKey);
  // The SPKI is SEQUENCE { AlgorithmIdentifier, BIT STRING }; the BIT STRING is its last element.
  const bitStringContents = lastElementContents(der.contentOf(spki)).subarray(1); // drop unused-bits byte
  return crypto.createHash('sha1').update(bitStringContents).digest();
}

function lastElementContents(sequenceContents: NonSharedBuffer): NonSharedBuffer {
  let offset = 0;
  let last: NonSharedBuffer = Buffer.alloc(0);
  while (offset < sequenceContents.length) {
    const lengthByte = sequenceContents[offset + 1]!;
    let length = lengthByte;
    let header = 2;
    if (lengthByte & 0x80) {
      const count = lengthByte & 0x7f;
      length = sequenceContents.readUIntBE(offset + 2, count);
      header = 2 + count;
    }
    last = sequenceContents.subarray(offset + header, offset + header + length);
    offset += header + length;
  }
  return last;
}

export function subjectKeyIdentifier(publicKey: KeyObject): Extension {
  return { oid: OID.subjectKeyIdentifier, value: der.octetString(keyIdentifier(publicKey)) };
}

export function authorityKeyIdentifier(issuerPublicKey: KeyObject): Extension {
  return {
    oid: OID.authorityKeyIdentifier,
    value: der.sequence(der.implicitPrimitive(0, keyIdentifier(issuerPublicKey))),
  };
}

export type SubjectAlternativeName = { email: string } | { uri: string } | { otherName: string };

/**
 * SubjectAltName as Fulcio writes it (critical, since the subject is empty): rfc822Name [1],
 * uniformResourceIdentifier [6], or OtherName [0] { 1.3.6.1.4.1.57264.1.7, [0] EXPLICIT UTF8String }.
 */
export function subjectAltName(name: SubjectAlternativeName): Extension {
  let generalName: NonSharedBuffer;
  if ('email' in name) {
    generalName = der.implicitPrimitive(1, Buffer.from(name.email, 'ascii'));
  } else if ('uri' in name) {
    generalName = der.implicitPrimitive(6, Buffer.from(name.uri, 'ascii'));
  } else {
    generalName = der.implicitConstructed(0, Buffer.concat([der.objectIdentifier(OID.fulcioOtherNameSan), der.explicit(0, der.utf8String(name.otherName))]));
  }
  return { oid: OID.subjectAltName, critical: true, value: der.sequence(generalName) };
}
