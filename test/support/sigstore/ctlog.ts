// A test Certificate Transparency log (RFC 6962) that only does what Fulcio needs from it:
// issue Signed Certificate Timestamps over precertificates, for embedding in the leaf.
import { type KeyObject } from 'node:crypto';
import { generateKeyPair, logIdOf, sha256, sign, spkiDer } from './keys';

export interface PrecertificateInput {
  /** The final certificate's TBSCertificate without the SCT extension (DER). */
  tbsWithoutSct: NonSharedBuffer;
  /** DER SubjectPublicKeyInfo of the issuing CA (the Fulcio intermediate). */
  issuerSpki: NonSharedBuffer;
  /** When the log saw the precertificate. */
  timestamp: Date;
}

export class TestCtLog {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** RFC 6962 log ID: SHA-256 of the log's DER SubjectPublicKeyInfo. */
  readonly logId: NonSharedBuffer;

  constructor(readonly baseUrl = 'https://ctfe.sigstore.test/test') {
    ({ privateKey: this.privateKey, publicKey: this.publicKey } = generateKeyPair('ecdsa-p256'));
    this.logId = logIdOf(this.publicKey);
  }

  get spki(): NonSharedBuffer {
    return spkiDer(this.publicKey);
  }

  /**
   * A serialized SCT (RFC 6962 3.2) for a precert_entry. The signed structure is
   * version || signature_type(0) || timestamp || entry_type(1) || issuer_key_hash ||
   * uint24 length || TBS || uint16 extensions length.
   */
  issueSct(input: PrecertificateInput): NonSharedBuffer {
    const timestamp = Buffer.alloc(8);
    timestamp.writeBigUInt64BE(BigInt(input.timestamp.getTime()));
    const tbsLength = Buffer.alloc(3);
    tbsLength.writeUIntBE(input.tbsWithoutSct.length, 0, 3);
    const signed = Buffer.concat([
      Buffer.from([0x00, 0x00]), // v1, certificate_timestamp
      timestamp,
      Buffer.from([0x00, 0x01]), // precert_entry
      sha256(input.issuerSpki),
      tbsLength,
      input.tbsWithoutSct,
      Buffer.from([0x00, 0x00]), // no extensions
    ]);
    const signature = sign(signed, this.privateKey, 'sha256');
    const signatureLength = Buffer.alloc(2);
    signatureLength.writeUInt16BE(signature.length);
    return Buffer.concat([
      Buffer.from([0x00]), // v1
      this.logId,
      timestamp,
      Buffer.from([0x00, 0x00]), // extensions length
      Buffer.from([0x04, 0x03]), // hash sha256, signature ecdsa
      signatureLength,
      signature,
    ]);
  }
}

/**
 * The SignedCertificateTimestampList TLS structure that goes, wrapped in an OCTET STRING,
 * into the 1.3.6.1.4.1.11129.2.4.2 extension value.
 */
export function sctList(scts: NonSharedBuffer[]): NonSharedBuffer {
  const items = scts.map((sct) => {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(sct.length);
    return Buffer.concat([length, sct]);
  });
  const body = Buffer.concat(items);
  const total = Buffer.alloc(2);
  total.writeUInt16BE(body.length);
  return Buffer.concat([total, body]);
}
