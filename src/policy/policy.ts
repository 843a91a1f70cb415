/**
 * A verification policy: who must have signed. Either keyless identities (certificate
 * SAN + OIDC issuer, any one of them) or a public key. Compiled once, used for every
 * signature.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { ImgverifyError } from '../errors';
import { describeValue } from '../util/describe';
import { keysOf, rejectUnknownKeys } from '../util/options';
import { compileIdentity, IDENTITY_MATCHER_KEYS, type CompiledIdentity, type IdentityMatcher } from './identity-policy';
import { errorMessage } from '../util/describe';

export interface KeylessPolicy {
  /** Acceptable signers; one match suffices. */
  identities: IdentityMatcher[];
}

export interface KeyPolicy {
  /** PEM public key (ECDSA P-256/P-384, RSA, Ed25519) or a KeyObject. */
  publicKey: string | Buffer | KeyObject;
  /**
   * The hash the key signed with (ECDSA and RSA; Ed25519 signs the message itself), as cosign's
   * `--signature-digest-algorithm` and policy-controller's `key.hashAlgorithm`: every signature
   * and attestation is then verified with exactly this hash. Without it, the hash a signature's
   * log entry names, else SHA-256 (cosign's default).
   */
  hashAlgorithm?: SignatureHashAlgorithm;
}

/** Hashes a key may sign with (cosign's `--signature-digest-algorithm` values). */
export type SignatureHashAlgorithm = 'sha224' | 'sha256' | 'sha384' | 'sha512';

const SIGNATURE_HASH_ALGORITHMS: readonly SignatureHashAlgorithm[] = Object.freeze(['sha224', 'sha256', 'sha384', 'sha512']);

export interface PolicyOptions {
  /** Accept signatures with no transparency-log entry (cosign --insecure-ignore-tlog). Default false. */
  insecureIgnoreTlog?: boolean | undefined;
  /** Accept certificates without a valid embedded SCT (cosign --insecure-ignore-sct). Default false. */
  insecureIgnoreSct?: boolean | undefined;
}

/** A single identity (`{subject, issuer}`) is accepted as shorthand for `{identities: [it]}`. */
export type VerificationPolicy = (IdentityMatcher | KeylessPolicy | KeyPolicy) & PolicyOptions;

export type CompiledPolicy =
  | { readonly kind: 'keyless'; readonly identities: readonly CompiledIdentity[]; readonly options: PolicyOptions; readonly description: string }
  | {
      readonly kind: 'key';
      readonly publicKey: KeyObject;
      /** SHA-256 of the SPKI DER, hex: names the key in results. */
      readonly keyId: string;
      /** The hash every signature must have been made with (ECDSA, RSA), when the policy names one. */
      readonly hashAlgorithm?: SignatureHashAlgorithm;
      readonly options: PolicyOptions;
      readonly description: string;
    };

const SUPPORTED_KEY_TYPES = new Set(['ec', 'rsa', 'ed25519']);

function parsePublicKey(input: string | Buffer | KeyObject, what = 'public key'): KeyObject {
  let key: KeyObject;
  try {
    key = typeof input === 'object' && 'asymmetricKeyType' in input ? input : createPublicKey(input);
  } catch (err) {
    throw new ImgverifyError('KEY_INVALID', `${what} is not a PEM public key: ${errorMessage(err)}`, { cause: err });
  }
  if (key.type !== 'public') throw new ImgverifyError('KEY_INVALID', `${what} is a ${key.type} key, expected a public key`);
  const type = key.asymmetricKeyType ?? 'unknown';
  if (!SUPPORTED_KEY_TYPES.has(type)) throw new ImgverifyError('KEY_INVALID', `${what}: unsupported key type ${type}`);
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== 'prime256v1' && curve !== 'secp384r1' && curve !== 'secp521r1') {
      throw new ImgverifyError('KEY_INVALID', `${what}: unsupported elliptic curve ${String(curve)}`);
    }
  }
  return key;
}

function keyId(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

const OPTION_KEYS = keysOf<PolicyOptions>()('insecureIgnoreTlog', 'insecureIgnoreSct');
const KEY_POLICY_KEYS = new Set([...keysOf<KeyPolicy>()('publicKey', 'hashAlgorithm'), ...OPTION_KEYS]);
const KEYLESS_POLICY_KEYS = new Set([...keysOf<KeylessPolicy>()('identities'), ...OPTION_KEYS]);
const IDENTITY_POLICY_KEYS = new Set([...IDENTITY_MATCHER_KEYS, ...OPTION_KEYS]);

export function compilePolicy(policy: VerificationPolicy): CompiledPolicy {
  if (typeof policy !== 'object' || policy === null) throw new ImgverifyError('INVALID_POLICY', 'policy must be an object');
  if ('publicKey' in policy && policy.publicKey !== undefined && ('identities' in policy || 'subject' in policy || 'subjectRegExp' in policy)) {
    throw new ImgverifyError('INVALID_POLICY', 'a policy takes either a public key or identities, not both');
  }
  // A misspelt key (subjectRegexp) would otherwise be ignored: the policy would not say what its author meant.
  const kind = 'publicKey' in policy ? KEY_POLICY_KEYS : 'identities' in policy ? KEYLESS_POLICY_KEYS : IDENTITY_POLICY_KEYS;
  rejectUnknownKeys(policy, kind, 'policy', 'INVALID_POLICY');
  const options: PolicyOptions = {
    insecureIgnoreTlog: policy.insecureIgnoreTlog === true,
    insecureIgnoreSct: policy.insecureIgnoreSct === true,
  };
  if ('publicKey' in policy && policy.publicKey !== undefined) {
    const publicKey = parsePublicKey(policy.publicKey);
    const id = keyId(publicKey);
    const hash = policy.hashAlgorithm;
    if (hash !== undefined && !SIGNATURE_HASH_ALGORITHMS.includes(hash)) {
      throw new ImgverifyError('INVALID_POLICY', `hashAlgorithm must be one of ${SIGNATURE_HASH_ALGORITHMS.join(', ')}, got ${describeValue(hash)}`);
    }
    return Object.freeze({
      kind: 'key',
      publicKey,
      keyId: id,
      ...(hash !== undefined ? { hashAlgorithm: hash } : {}),
      options,
      description: `public key sha256:${id}${hash !== undefined ? ` (${hash})` : ''}`,
    });
  }
  // A single identity is the policy itself, without the options.
  const { insecureIgnoreTlog: _tlog, insecureIgnoreSct: _sct, ...single } = policy as IdentityMatcher & PolicyOptions;
  const list = 'identities' in policy ? policy.identities : [single];
  if (!Array.isArray(list) || list.length === 0) {
    throw new ImgverifyError('INVALID_POLICY', 'a keyless policy needs at least one identity (subject and issuer)');
  }
  const identities = list.map((m, i) => compileIdentity(m, list.length === 1 ? 'identity' : `identities[${i}]`));
  return Object.freeze({
    kind: 'keyless',
    identities,
    options,
    description: identities.map((i) => i.description).join('; or '),
  });
}
