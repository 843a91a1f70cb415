// A test RFC 3161 Timestamp Authority: a root CA and a leaf with a critical timeStamping
// EKU, answering with a DER TimeStampResp whose token is a CMS SignedData over a TSTInfo
// (RFC 3161 2.4.2, RFC 5652, ESS signingCertificateV2 from RFC 5816).
import * as der from './der';
import type { CertifiedKey } from './fulcio';
import { generateKeyPair, sha256, sign, toPem } from './keys';
import { OID } from './oids';
import {
  KEY_USAGE,
  authorityKeyIdentifier,
  basicConstraints,
  distinguishedName,
  encodeTbs,
  extKeyUsage,
  keyUsage,
  randomSerialNumber,
  signTbs,
  subjectKeyIdentifier,
} from './x509';

export interface TsaOptions {
  validFrom: Date;
  validUntil: Date;
  organization?: string;
}

interface TsaLeaf extends CertifiedKey {
  serialNumber: NonSharedBuffer;
  issuer: NonSharedBuffer;
}

function issueTsaCertificates(opts: TsaOptions): { root: CertifiedKey; leaf: TsaLeaf } {
  const organization = opts.organization ?? 'sigstore.test';
  const rootKeys = generateKeyPair('ecdsa-p384');
  const rootSubject = distinguishedName({ organization, commonName: 'sigstore-tsa-selfsigned' });
  const rootDer = signTbs(
    encodeTbs(
      {
        serialNumber: randomSerialNumber(),
        issuer: rootSubject,
        subject: rootSubject,
        notBefore: opts.validFrom,
        notAfter: opts.validUntil,
        publicKey: rootKeys.publicKey,
        extensions: [keyUsage(KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign), basicConstraints(true, 0), subjectKeyIdentifier(rootKeys.publicKey)],
      },
      rootKeys.privateKey,
    ),
    rootKeys.privateKey,
  );
  const root: CertifiedKey = { ...rootKeys, subject: rootSubject, der: rootDer, pem: toPem('CERTIFICATE', rootDer) };

  const leafKeys = generateKeyPair('ecdsa-p256');
  const leafSubject = distinguishedName({ organization, commonName: 'sigstore-tsa' });
  const serialNumber = randomSerialNumber();
  const leafDer = signTbs(
    encodeTbs(
      {
        serialNumber,
        issuer: rootSubject,
        subject: leafSubject,
        notBefore: opts.validFrom,
        notAfter: opts.validUntil,
        publicKey: leafKeys.publicKey,
        extensions: [
          keyUsage(KEY_USAGE.digitalSignature),
          extKeyUsage([OID.ekuTimeStamping], true), // RFC 3161 2.3: the only EKU, critical
          subjectKeyIdentifier(leafKeys.publicKey),
          authorityKeyIdentifier(rootKeys.publicKey),
        ],
      },
      rootKeys.privateKey,
    ),
    rootKeys.privateKey,
  );
  const leaf: TsaLeaf = {
    ...leafKeys,
    subject: leafSubject,
    der: leafDer,
    pem: toPem('CERTIFICATE', leafDer),
    serialNumber,
    issuer: rootSubject,
  };
  return { root, leaf };
}

function attribute(oid: string, value: NonSharedBuffer): NonSharedBuffer {
  return der.sequence(der.objectIdentifier(oid), der.setOf(value));
}

export class TestTimestampAuthority {
  readonly root: CertifiedKey;
  readonly leaf: TsaLeaf;

  constructor(options: TsaOptions) {
    ({ root: this.root, leaf: this.leaf } = issueTsaCertificates(options));
  }

  /** Chain as trusted_root.json lists it: signing leaf first, then the root. */
  get chain(): NonSharedBuffer[] {
    return [this.leaf.der, this.root.der];
  }

  /**
   * A granted TimeStampResp (DER) over SHA-256 of `data` at `time` (whole seconds). For
   * cosign legacy signatures `data` is the raw signature bytes; for DSSE, the signature too.
   */
  timestamp(data: Uint8Array, time: Date): NonSharedBuffer {
    const genTime = new Date(Math.floor(time.getTime() / 1000) * 1000);
    const tstInfo = der.sequence(
      der.integer(1),
      der.objectIdentifier(OID.sigstoreTsaPolicy),
      der.sequence(der.algorithmIdentifier(OID.sha256), der.octetString(sha256(data))), // messageImprint
      der.integer(randomSerialNumber().subarray(0, 16)),
      der.generalizedTime(genTime),
    );
    // Signed attributes, DER-encoded as a SET OF for signing, stored under [0] IMPLICIT.
    const attributes = [
      attribute(OID.contentType, der.objectIdentifier(OID.tstInfo)),
      attribute(OID.signingTime, der.utcTime(genTime)),
      attribute(OID.messageDigest, der.octetString(sha256(tstInfo))),
      attribute(
        OID.signingCertificateV2,
        // SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2 { certHash } } (hash defaults to SHA-256)
        der.sequence(der.sequence(der.sequence(der.octetString(sha256(this.leaf.der))))),
      ),
    ];
    const signedAttributesSet = der.setOf(...attributes);
    const signature = sign(signedAttributesSet, this.leaf.privateKey, 'sha256');
    const signerInfo = der.sequence(
      der.integer(1),
      der.sequence(this.leaf.issuer, der.integer(this.leaf.serialNumber)), // IssuerAndSerialNumber
      der.algorithmIdentifier(OID.sha256),
      der.implicitConstructed(0, der.contentOf(signedAttributesSet)),
      der.algorithmIdentifier(OID.ecdsaWithSha256),
      der.octetString(signature),
    );
    const signedData = der.sequence(
      der.integer(3),
      der.setOf(der.algorithmIdentifier(OID.sha256)),
      der.sequence(der.objectIdentifier(OID.tstInfo), der.explicit(0, der.octetString(tstInfo))),
      der.implicitConstructed(0, this.leaf.der), // certificates: the signer (certReq)
      der.setOf(signerInfo),
    );
    const token = der.sequence(der.objectIdentifier(OID.signedData), der.explicit(0, signedData));
    const status = der.sequence(der.integer(0)); // granted
    return der.sequence(status, token);
  }

  /** The `dev.sigstore.cosign/rfc3161timestamp` annotation value for a timestamp. */
  static cosignAnnotation(timestampResponse: Uint8Array): string {
    return JSON.stringify({ SignedRFC3161Timestamp: Buffer.from(timestampResponse).toString('base64') });
  }
}
