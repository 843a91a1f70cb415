/**
 * A trusted root built from PEM certificates and keys, as policy-controller's TrustRoot
 * `sigstoreKeys` and a keyless authority's `ca-cert` give them: Fulcio CA chains, Rekor and
 * CT log public keys, TSA chains. Those carry no validity windows, so every entry is valid
 * from 1970-01-01T00:00:00Z on (what policy-controller's own conversion writes); the
 * certificates' own validity periods still bound the chains. Log IDs are the SHA-256 of the
 * key's SPKI DER (RFC 6962, Rekor). The result is validated like any trusted_root.json.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { readCertificate } from '../util/certificate';
import { ImgverifyError } from '../errors';
import { trustRootFromJSON, type LoadedTrustRoot } from './trusted-root';
import { errorMessage } from '../util/describe';

const ALWAYS = '1970-01-01T00:00:00Z';
const MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

export interface KeysAuthority {
  readonly organization?: string;
  readonly commonName?: string;
  readonly uri: string;
  /** PEM certificates, leaf or intermediate first, root last. */
  readonly certChainPem: string;
}

export interface KeysLog {
  readonly baseUrl: string;
  /** `sha256` (the default), `sha384` or `sha512`; also spelled `sha-256` or `SHA2_256`. */
  readonly hashAlgorithm?: string;
  readonly publicKeyPem: string;
}

export interface TrustKeys {
  readonly certificateAuthorities?: readonly KeysAuthority[];
  readonly tlogs?: readonly KeysLog[];
  readonly ctlogs?: readonly KeysLog[];
  readonly timestampAuthorities?: readonly KeysAuthority[];
}

function invalid(source: string, why: string): ImgverifyError {
  return new ImgverifyError('TRUST_ROOT_INVALID', `trusted root (${source}) is invalid: ${why}`, { details: { source } });
}

/** The DER certificates of a PEM text (at least one). */
export function pemCertificates(pem: string, where: string, source: string): Buffer[] {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) =>
    Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'),
  );
  if (blocks.length === 0) throw invalid(source, `${where} holds no PEM certificate`);
  blocks.forEach((der, i) => {
    try {
      readCertificate(der);
    } catch (err) {
      throw invalid(source, `${where} certificate ${i} is not X.509: ${errorMessage(err)}`);
    }
  });
  return blocks;
}

function keyDetails(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return 'PKIX_ECDSA_P256_SHA_256';
      if (curve === 'secp384r1') return 'PKIX_ECDSA_P384_SHA_384';
      if (curve === 'secp521r1') return 'PKIX_ECDSA_P521_SHA_512';
      throw new Error(`unsupported curve ${String(curve)}`);
    }
    case 'ed25519':
      return 'PKIX_ED25519';
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength;
      if (bits === 2048 || bits === 3072 || bits === 4096) return `PKIX_RSA_PKCS1V15_${bits}_SHA256`;
      throw new Error(`unsupported RSA key size ${String(bits)}`);
    }
    default:
      throw new Error(`unsupported key type ${String(key.asymmetricKeyType)}`);
  }
}

/**
 * A log's hash algorithm as written: `sha256` (what policy-controller's conversion maps),
 * `sha-256` (the spelling of policy-controller's own example, pkg/apis/config/testdata/
 * config-sigstore-keys.yaml, which its conversion passes through unmapped), or the
 * trusted_root.json enum name `SHA2_256`; likewise for 384 and 512. All name the same hash.
 */
function logHash(written: string): string | undefined {
  const m = /^(?:sha-?|sha2_)(256|384|512)$/.exec(written.trim().toLowerCase());
  return m ? `SHA2_${m[1]!}` : undefined;
}

function logJson(log: KeysLog, where: string, source: string): Record<string, unknown> {
  let key: KeyObject;
  try {
    if (!/-----BEGIN (?:RSA )?PUBLIC KEY-----/.test(log.publicKeyPem)) throw new Error('expected a PUBLIC KEY PEM block');
    key = createPublicKey(log.publicKeyPem);
  } catch (err) {
    throw invalid(source, `${where}.publicKey is not a PEM public key: ${errorMessage(err)}`);
  }
  const der = key.export({ type: 'spki', format: 'der' });
  let details: string;
  try {
    details = keyDetails(key);
  } catch (err) {
    throw invalid(source, `${where}.publicKey: ${errorMessage(err)}`);
  }
  const hash = logHash(log.hashAlgorithm ?? 'sha256');
  if (!hash) throw invalid(source, `${where}.hashAlgorithm ${JSON.stringify(log.hashAlgorithm)} is not sha256, sha384 or sha512 (or sha-256, SHA2_256, ...)`);
  return {
    baseUrl: log.baseUrl,
    hashAlgorithm: hash,
    publicKey: { rawBytes: der.toString('base64'), keyDetails: details, validFor: { start: ALWAYS } },
    logId: { keyId: createHash('sha256').update(der).digest('base64') },
  };
}

function authorityJson(ca: KeysAuthority, where: string, source: string): Record<string, unknown> {
  const chain = pemCertificates(ca.certChainPem, `${where}.certChain`, source);
  const root = X509Certificate.parse(Buffer.from(chain[chain.length - 1]!));
  const name = (oid: string): string | undefined => root.subject.toString().match(new RegExp(`${oid}=([^,]+)`))?.[1];
  return {
    subject: { organization: ca.organization ?? name('O') ?? '', commonName: ca.commonName ?? name('CN') ?? '' },
    uri: ca.uri,
    certChain: { certificates: chain.map((der) => ({ rawBytes: der.toString('base64') })) },
    validFor: { start: ALWAYS },
  };
}

/** The trusted root for these keys and certificates, validated and parsed once. */
export function trustRootFromKeys(keys: TrustKeys, source: string): LoadedTrustRoot {
  const json = {
    mediaType: MEDIA_TYPE,
    certificateAuthorities: (keys.certificateAuthorities ?? []).map((ca, i) => authorityJson(ca, `certificateAuthorities[${i}]`, source)),
    tlogs: (keys.tlogs ?? []).map((log, i) => logJson(log, `tLogs[${i}]`, source)),
    ctlogs: (keys.ctlogs ?? []).map((log, i) => logJson(log, `ctLogs[${i}]`, source)),
    timestampAuthorities: (keys.timestampAuthorities ?? []).map((tsa, i) => authorityJson(tsa, `timestampAuthorities[${i}]`, source)),
  };
  return trustRootFromJSON(json, source);
}
