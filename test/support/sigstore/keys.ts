// Key generation, encodings and signing for the test Sigstore, all with node:crypto so that
// every operation is synchronous and nothing is hard-coded: keys are minted per process.
import crypto, { type KeyObject } from 'node:crypto';

export type KeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'ed25519';
export type HashName = 'sha256' | 'sha384' | 'sha512';
/** Hashes a key may sign with (cosign --signature-digest-algorithm); Rekor logs only the HashName ones. */
export type SigningHashName = HashName | 'sha224';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateKeyPair(type: KeyType): KeyPair {
  switch (type) {
    case 'ecdsa-p256':
      return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'ecdsa-p384':
      return crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'ecdsa-p521':
      return crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' });
    case 'rsa-2048':
    case 'rsa-3072':
    case 'rsa-4096':
      return crypto.generateKeyPairSync('rsa', { modulusLength: Number(type.slice(4)) });
    case 'ed25519':
      return crypto.generateKeyPairSync('ed25519');
  }
}

/** The DER SubjectPublicKeyInfo of a public key (what key IDs and log IDs hash). */
export function spkiDer(key: KeyObject): NonSharedBuffer {
  const publicKey = key.type === 'private' ? crypto.createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'der' });
}

/** PEM "PUBLIC KEY", as cosign's cryptoutils.MarshalPublicKeyToPEM writes it. */
export function publicKeyPem(key: KeyObject): string {
  return toPem('PUBLIC KEY', spkiDer(key));
}

/** PEM with 64-character lines and a trailing newline, like Go's pem.EncodeToMemory. */
export function toPem(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every DER block of a PEM bundle, in order. */
export function fromPem(pem: string): NonSharedBuffer[] {
  const blocks = pem.match(/-----BEGIN [^-]+-----[\s\S]*?-----END [^-]+-----/g) ?? [];
  return blocks.map((block) => Buffer.from(block.replace(/-----(BEGIN|END) [^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
}

export function sha256(...data: Array<Uint8Array | string>): NonSharedBuffer {
  const hash = crypto.createHash('sha256');
  for (const d of data) hash.update(d);
  return hash.digest();
}

/** Transparency log / CT log identifier: SHA-256 of the DER SubjectPublicKeyInfo. */
export function logIdOf(key: KeyObject): NonSharedBuffer {
  return sha256(spkiDer(key));
}

/** Curve name of an EC key ('P-256', 'P-384', 'P-521'), undefined for other key types. */
function curveOf(key: KeyObject): string | undefined {
  return key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
}

const CURVE_ALIASES: Record<string, string> = {
  prime256v1: 'P-256',
  'P-256': 'P-256',
  secp384r1: 'P-384',
  'P-384': 'P-384',
  secp521r1: 'P-521',
  'P-521': 'P-521',
};

/** The trusted_root.json `keyDetails` enum name for a public key. */
export function keyDetailsOf(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = CURVE_ALIASES[curveOf(key) ?? ''];
      if (curve === 'P-256') return 'PKIX_ECDSA_P256_SHA_256';
      if (curve === 'P-384') return 'PKIX_ECDSA_P384_SHA_384';
      if (curve === 'P-521') return 'PKIX_ECDSA_P521_SHA_512';
      throw new Error(`unsupported curve ${curveOf(key)}`);
    }
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength;
      if (bits === 2048 || bits === 3072 || bits === 4096) return `PKIX_RSA_PKCS1V15_${bits}_SHA256`;
      throw new Error(`unsupported RSA size ${bits}`);
    }
    case 'ed25519':
      return 'PKIX_ED25519';
    default:
      throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
  }
}

/** The hash an X.509 / checkpoint signer of this key type conventionally uses. */
export function defaultHashFor(key: KeyObject): HashName {
  const curve = CURVE_ALIASES[curveOf(key) ?? ''];
  if (curve === 'P-384') return 'sha384';
  if (curve === 'P-521') return 'sha512';
  return 'sha256';
}

/**
 * Signs `data`: ECDSA gives an ASN.1 DER (r, s) signature, RSA gives PKCS #1 v1.5, and
 * Ed25519 signs the message itself (pure Ed25519, no pre-hash; `hash` is ignored).
 */
export function sign(data: Uint8Array, privateKey: KeyObject, hash: SigningHashName = 'sha256'): NonSharedBuffer {
  const algorithm = privateKey.asymmetricKeyType === 'ed25519' ? null : hash;
  return crypto.sign(algorithm, data, privateKey);
}
