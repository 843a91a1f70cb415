/**
 * The last step for every signature format: who signed it, judged by the policy. A key
 * policy names the key; a keyless policy matches the certificate's SANs and issuer.
 */
import type { X509Certificate } from '@sigstore/core';
import { ImgverifyError } from '../errors';
import { certificateIdentity } from '../policy/certificate-identity';
import { matchIdentity } from '../policy/identity-policy';
import type { CompiledPolicy } from '../policy/policy';
import type { SignerInfo } from './types';

export function signerForPolicy(policy: CompiledPolicy, leaf: X509Certificate | undefined): SignerInfo {
  if (policy.kind === 'key') return { publicKeySha256: policy.keyId };
  if (!leaf) throw new ImgverifyError('SIGNATURE_MALFORMED', 'signature has no certificate: it is key-based, verify it with its public key');
  const identity = certificateIdentity(leaf);
  const match = matchIdentity(identity, policy.identities);
  if (!match.ok) throw new ImgverifyError(match.code, match.message);
  return { subject: match.subject, subjectAlternativeNames: identity.subjectAlternativeNames, issuer: match.issuer };
}
