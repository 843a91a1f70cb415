/**
 * Everything needed to judge one signature: the compiled policy and, for each trust root, the
 * `@sigstore/verify` checks set up for that policy and root. Built once per (trust roots,
 * policy) and shared by every signature of every image.
 *
 * Several trust roots (public-good and a private instance, say) are tried one at a time by the
 * core's trust step: a signature verifies when every check passes within ONE root, never with a
 * certificate from one root and a log key from another.
 *
 * What a root lists decides what it can require: a root that lists no transparency log (GitHub's
 * instance for private repositories) cannot require a log entry, and a signature under it needs
 * an RFC 3161 timestamp from one of its timestamp authorities instead; a root that lists no CT
 * log cannot require an SCT.
 */
import type { TrustMaterial } from '@sigstore/verify';
import type { LoadedTrustRoot } from '../trust/trusted-root';
import type { CompiledPolicy } from '../policy/policy';
import { SigstoreChecks, type SigstoreCheckOptions } from './sigstore';

/** The hint under which a key policy's key is looked up by `@sigstore/verify`. */
export const POLICY_KEY_HINT = 'imgverify-policy-key';

/** The checks of one trust root. */
export interface RootChecks {
  readonly trust: LoadedTrustRoot;
  readonly checks: SigstoreChecks;
  /** The same checks without a log entry requirement, for entry kinds verified outside `@sigstore/verify`. */
  readonly checksWithoutTlog: SigstoreChecks;
  /** A signature needs a transparency-log entry: the policy does not waive it and the root lists a log. */
  readonly requiresTlog: boolean;
}

export interface PolicyChecks {
  readonly policy: CompiledPolicy;
  /** One entry per trust root, in the order given; never empty. */
  readonly roots: readonly RootChecks[];
}

/** Whether the trust root lists transparency logs / CT logs. */
function lists(trust: LoadedTrustRoot): { tlogs: boolean; ctlogs: boolean } {
  return { tlogs: trust.trustedRoot.tlogs.length > 0, ctlogs: trust.trustedRoot.ctlogs.length > 0 };
}

function rootChecks(trust: LoadedTrustRoot, policy: CompiledPolicy): RootChecks {
  const ignoreTlog = policy.options.insecureIgnoreTlog === true;
  const listed = lists(trust);
  // Without a log in the root, the RFC 3161 timestamp stands in for the log's proof of time.
  const requiresTlog = !ignoreTlog && listed.tlogs;
  let material: TrustMaterial = trust.material;
  let options: SigstoreCheckOptions;
  if (policy.kind === 'key') {
    material = {
      ...trust.material,
      publicKey: (hint: string) => {
        if (hint !== POLICY_KEY_HINT) throw new Error(`no key for hint ${hint}`);
        return { publicKey: policy.publicKey, validFor: () => true };
      },
    };
    // A key has no certificate: no SCT; a timestamp is only needed when a log entry (or, in a
    // root without logs, a TSA) is what the signature is trusted by.
    options = { tlogThreshold: requiresTlog ? 1 : 0, ctlogThreshold: 0, timestampThreshold: ignoreTlog ? 0 : 1 };
  } else {
    const ignoreSct = policy.options.insecureIgnoreSct === true || !listed.ctlogs;
    options = { tlogThreshold: requiresTlog ? 1 : 0, ctlogThreshold: ignoreSct ? 0 : 1, timestampThreshold: 1 };
  }
  return {
    trust,
    requiresTlog,
    checks: new SigstoreChecks(material, options),
    checksWithoutTlog: new SigstoreChecks(material, { ...options, tlogThreshold: 0 }),
  };
}

/** The checks for a policy under one trust root or several (tried in order). */
export function policyChecks(trust: LoadedTrustRoot | readonly LoadedTrustRoot[], policy: CompiledPolicy): PolicyChecks {
  const roots = Array.isArray(trust) ? (trust as readonly LoadedTrustRoot[]) : [trust as LoadedTrustRoot];
  if (roots.length === 0) throw new Error('policyChecks needs at least one trust root');
  return { policy, roots: roots.map((root) => rootChecks(root, policy)) };
}
