/**
 * The signing certificate must be issued for code signing. `@sigstore/verify` does not
 * check extended key usage; cosign does (x509 verification with the codeSigning key usage),
 * and every Fulcio leaf carries it, so a leaf without it is not a signing certificate.
 */
import type { X509Certificate } from '@sigstore/core';
import { ImgverifyError } from '../errors';

const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

export function checkCodeSigningUsage(cert: X509Certificate): void {
  const ext = cert.extension(OID_EXT_KEY_USAGE);
  let usages: string[];
  try {
    usages = ext ? (ext.valueObj.subs[0]?.subs ?? []).map((oid) => oid.toOID()) : [];
  } catch {
    usages = [];
  }
  if (!usages.includes(OID_CODE_SIGNING)) {
    throw new ImgverifyError('CERTIFICATE_CHAIN_INVALID', 'certificate chain check failed: the signing certificate has no codeSigning extended key usage');
  }
}
