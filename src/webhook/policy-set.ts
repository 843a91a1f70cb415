/**
 * Checks across the documents of a policy set (a file, a folder, the cluster's objects), which
 * no single document can make: names unique per kind, and every `trustRootRef` naming a
 * TrustRoot of the set.
 */
import type { ImgverifyError } from '../index';
import { policyKey, type ClusterImagePolicy, type TrustRootRefs } from './cluster-image-policy-types';
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

/**
 * Errors for documents of one kind that share a name (names are unique per kind in Kubernetes:
 * cluster-wide, or within a namespace for a namespaced kind); the first keeps it.
 */
function duplicatesOf(
  kind: string,
  docs: readonly { readonly name: string; readonly namespace?: string; readonly source: PolicyLocation }[],
): ImgverifyError[] {
  const seen = new Map<string, PolicyLocation>();
  const errors: ImgverifyError[] = [];
  for (const doc of docs) {
    const key = policyKey(doc);
    const first = seen.get(key);
    if (first) errors.push(policyError(doc.source, 'metadata.name', `duplicate ${kind} name ${JSON.stringify(key)} (first in ${describeLocation(first)})`));
    else seen.set(key, doc.source);
  }
  return errors;
}

/** Errors for policies that share a name (ClusterImagePolicies cluster-wide, ImagePolicies per namespace). */
export function duplicateNames(policies: readonly ClusterImagePolicy[]): ImgverifyError[] {
  return [
    ...duplicatesOf(
      'ClusterImagePolicy',
      policies.filter((p) => p.namespace === undefined),
    ),
    ...duplicatesOf(
      'ImagePolicy',
      policies.filter((p) => p.namespace !== undefined),
    ),
  ];
}

/** Errors for TrustRoots that share a name. */
export function duplicateTrustRootNames(roots: readonly TrustRootDocument[]): ImgverifyError[] {
  return duplicatesOf('TrustRoot', roots);
}
