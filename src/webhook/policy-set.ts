/**
 * Checks across the documents of a policy set (a file, a folder, the cluster's objects), which
 * no single document can make: names unique per kind, and every `trustRootRef` naming a
 * TrustRoot of the set.
 */
import type { ImgverifyError } from '../index';
import type { ClusterImagePolicy, TrustRootRefs } from './cluster-image-policy-types';
import { describeLocation, policyError, type PolicyLocation } from './crd-document';
import type { TrustRootDocument } from './trust-root-types';

/**
 * Errors for authorities that name a TrustRoot the set does not hold (`names`: the TrustRoot
 * documents of the whole folder).
 */
export function unknownTrustRootRefs(policies: readonly ClusterImagePolicy[], names: ReadonlySet<string>): ImgverifyError[] {
  const errors: ImgverifyError[] = [];
  for (const policy of policies) {
    policy.authorities.forEach((authority, i) => {
      const refs: TrustRootRefs = authority.trustRootRefs ?? {};
      for (const [part, name] of Object.entries(refs) as Array<[keyof TrustRootRefs, string | undefined]>) {
        if (name !== undefined && !names.has(name)) {
          const field = part === 'keyless' ? 'keyless.trustRootRef' : part === 'ctlog' ? 'ctlog.trustRootRef' : 'rfc3161timestamp.trustRootRef';
          errors.push(policyError(policy.source, `spec.authorities[${i}].${field}`, `no TrustRoot named ${JSON.stringify(name)} in the policy folder`));
        }
      }
    });
  }
  return errors;
}

/** Errors for policies that share a name (names are cluster-unique in Kubernetes). */
export function duplicateNames(policies: readonly ClusterImagePolicy[]): ImgverifyError[] {
  const seen = new Map<string, PolicyLocation>();
  const errors: ImgverifyError[] = [];
  for (const policy of policies) {
    const first = seen.get(policy.name);
    if (first === undefined) {
      seen.set(policy.name, policy.source);
      continue;
    }
    errors.push(
      policyError(policy.source, 'metadata.name', `duplicate ClusterImagePolicy name ${JSON.stringify(policy.name)} (first in ${describeLocation(first)})`),
    );
  }
  return errors;
}

/** Errors for TrustRoots that share a name. */
export function duplicateTrustRootNames(roots: readonly TrustRootDocument[]): ImgverifyError[] {
  const seen = new Map<string, PolicyLocation>();
  const errors: ImgverifyError[] = [];
  for (const root of roots) {
    const first = seen.get(root.name);
    if (first) errors.push(policyError(root.source, 'metadata.name', `duplicate TrustRoot name ${JSON.stringify(root.name)} (first in ${describeLocation(first)})`));
    else seen.set(root.name, root.source);
  }
  return errors;
}
