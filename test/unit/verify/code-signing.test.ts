/**
 * The signing certificate must carry the codeSigning extended key usage, as cosign requires
 * and every Fulcio leaf has.
 */
import { X509Certificate } from '@sigstore/core';
import { type ImgverifyError } from '../../../src/errors';
import { checkCodeSigningUsage } from '../../../src/verify/code-signing';
import { createTestSigstore, DEFAULT_ISSUER, generateKeyPair } from '../../support/sigstore';
import * as der from '../../support/sigstore/der';
import { OID } from '../../support/sigstore/oids';
import { distinguishedName, encodeTbs, extKeyUsage, keyUsage, KEY_USAGE, randomSerialNumber, signTbs, type Extension } from '../../support/sigstore/x509';
import { thrown } from '../../support/errors';

const sigstore = createTestSigstore();
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const OID_EXT_KEY_USAGE = '2.5.29.37';

/** A leaf from the test Fulcio, with some of its standard extensions left out. */
function fulcioLeaf(removeExtensions: string[] = []): X509Certificate {
  const issued = sigstore.fulcio.issueEphemeral({
    identity: { email: 'release@example.test' },
    issuer: DEFAULT_ISSUER,
    signedAt: sigstore.nextSigningTime(),
    removeExtensions,
  });
  return X509Certificate.parse(issued.der);
}

/** A self-signed certificate with exactly these extensions. */
function certificateWith(extensions: Extension[]): X509Certificate {
  const { privateKey, publicKey } = generateKeyPair('ecdsa-p256');
  const name = distinguishedName({ organization: 'example.test', commonName: 'signer' });
  const notBefore = new Date(Date.UTC(2024, 0, 1));
  const tbs = encodeTbs(
    { serialNumber: randomSerialNumber(), issuer: name, subject: name, notBefore, notAfter: new Date(Date.UTC(2034, 0, 1)), publicKey, extensions },
    privateKey,
  );
  return X509Certificate.parse(signTbs(tbs, privateKey));
}

const failure = (cert: X509Certificate): ImgverifyError => thrown(() => checkCodeSigningUsage(cert));

test('a Fulcio leaf (codeSigning EKU) is a signing certificate', () => {
  expect(() => checkCodeSigningUsage(fulcioLeaf())).not.toThrow();
  expect(() => checkCodeSigningUsage(X509Certificate.parse(sigstore.signImage({ digest: `sha256:${'ab'.repeat(32)}` }).details.certificate.der))).not.toThrow();
});

test('codeSigning among other usages, or in a critical extension, is enough', () => {
  expect(() => checkCodeSigningUsage(certificateWith([extKeyUsage([SERVER_AUTH, OID.ekuCodeSigning])]))).not.toThrow();
  expect(() => checkCodeSigningUsage(certificateWith([keyUsage(KEY_USAGE.digitalSignature), extKeyUsage([OID.ekuCodeSigning], true)]))).not.toThrow();
});

describe('not a signing certificate: CERTIFICATE_CHAIN_INVALID', () => {
  test.each([
    ['a Fulcio leaf without the EKU extension', () => fulcioLeaf([OID_EXT_KEY_USAGE])],
    ['no extensions at all', () => certificateWith([])],
    ['only serverAuth', () => certificateWith([extKeyUsage([SERVER_AUTH])])],
    ['only timeStamping (a TSA certificate)', () => certificateWith([extKeyUsage([OID.ekuTimeStamping])])],
    ['an empty EKU list', () => certificateWith([extKeyUsage([])])],
    ['an EKU extension that is not a SEQUENCE of OIDs', () => certificateWith([{ oid: OID_EXT_KEY_USAGE, value: der.integer(3) }])],
    ['an EKU of strings that spell the OID', () => certificateWith([{ oid: OID_EXT_KEY_USAGE, value: der.sequence(der.utf8String(OID.ekuCodeSigning)) }])],
    [
      'codeSigning in another extension than EKU',
      () => certificateWith([{ oid: '1.3.6.1.4.1.57264.1.99', value: der.sequence(der.objectIdentifier(OID.ekuCodeSigning)) }]),
    ],
  ])('%s', (_name, cert) => {
    const err = failure(cert());
    expect(err.code).toBe('CERTIFICATE_CHAIN_INVALID');
    expect(err.message).toBe('certificate chain check failed: the signing certificate has no codeSigning extended key usage');
  });
});
