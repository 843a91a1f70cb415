/**
 * Test PKI: a private CA, a TLS server certificate for 127.0.0.1/localhost, and a token
 * signing certificate, all ECDSA P-256 and generated fresh per registry.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TestCa {
  readonly certPem: string;
  readonly cert: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

export interface IssuedCert {
  readonly certPem: string;
  /** DER, base64 (for a JWT x5c header). */
  readonly certDerBase64: string;
  readonly keyPem: string;
  readonly privateKey: CryptoKey;
}

function validity(): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - 3600_000), notAfter: new Date(now + 24 * 3600_000) };
}

export async function createCa(name = 'imgverify test CA'): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys,
    signingAlgorithm: ALG,
    ...validity(),
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), cert, keys };
}

async function issue(ca: TestCa, subject: string, extensions: x509.Extension[]): Promise<IssuedCert> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${subject}`,
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    ...validity(),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
      ...extensions,
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
  return {
    certPem: cert.toString('pem'),
    certDerBase64: Buffer.from(cert.rawData).toString('base64'),
    keyPem: keyPem.replace(/\n\n/g, '\n'),
    privateKey: keys.privateKey,
  };
}

/**
 * A TLS server certificate for the loopback names the test registries listen on, plus
 * `names` (the host names a test proxy resolves, e.g. `registry.zoo.test`).
 */
export function issueServerCert(ca: TestCa, names: readonly string[] = []): Promise<IssuedCert> {
  return issue(ca, '127.0.0.1', [
    new x509.SubjectAlternativeNameExtension([
      { type: 'ip', value: '127.0.0.1' },
      { type: 'dns', value: 'localhost' },
      ...names.map((value) => ({ type: 'dns' as const, value })),
    ]),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
  ]);
}

/** The certificate a token server signs JWTs with (sent in the x5c header). */
export function issueSigningCert(ca: TestCa): Promise<IssuedCert> {
  return issue(ca, 'imgverify test token issuer', [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)]);
}

/** A TLS client certificate (mTLS), for a registry that requires one. */
export function issueClientCert(ca: TestCa, name = 'imgverify test client'): Promise<IssuedCert> {
  return issue(ca, name, [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
  ]);
}
