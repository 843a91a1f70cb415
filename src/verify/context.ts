/**
 * Everything needed to judge one signature: the digest it must bind, the compiled policy,
 * and the `@sigstore/verify` checks set up for that policy and trust root. Built once per
 * (trust root, policy) and shared by every signature of every image.
 */
import type { TrustMaterial } from '@sigstore/verify';
import type { LoadedTrustRoot } from '../trust';
import type { CompiledPolicy } from '../policy/policy';
import { SigstoreChecks } from './sigstore';

/** The hint under which a key policy's key is looked up by `@sigstore/verify`. */
export const POLICY_KEY_HINT = 'imgverify-policy-key';

export interface PolicyChecks {
  readonly policy: CompiledPolicy;
  readonly checks: SigstoreChecks;
  /** The same checks without a log entry requirement, for entry kinds verified outside `@sigstore/verify`. */
  readonly checksWithoutTlog: SigstoreChecks;
  readonly trust: LoadedTrustRoot;
}

export function policyChecks(trust: LoadedTrustRoot, policy: CompiledPolicy): PolicyChecks {
  const ignoreTlog = policy.options.insecureIgnoreTlog === true;
  if (policy.kind === 'key') {
    const material: TrustMaterial = {
      ...trust.material,
      publicKey: (hint: string) => {
        if (hint !== POLICY_KEY_HINT) throw new Error(`no key for hint ${hint}`);
        return { publicKey: policy.publicKey, validFor: () => true };
      },
    };
    // A key has no certificate: no SCT; a timestamp is only needed when a log entry exists.
    const options = { tlogThreshold: ignoreTlog ? 0 : 1, ctlogThreshold: 0, timestampThreshold: ignoreTlog ? 0 : 1 };
    return {
      policy,
      trust,
      checks: new SigstoreChecks(material, options),
      checksWithoutTlog: new SigstoreChecks(material, { ...options, tlogThreshold: 0 }),
    };
  }
  const options = { tlogThreshold: ignoreTlog ? 0 : 1, ctlogThreshold: policy.options.insecureIgnoreSct ? 0 : 1, timestampThreshold: 1 };
  return {
    policy,
    trust,
    checks: new SigstoreChecks(trust.material, options),
    checksWithoutTlog: new SigstoreChecks(trust.material, { ...options, tlogThreshold: 0 }),
  };
}
