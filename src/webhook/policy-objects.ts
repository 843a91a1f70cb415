/**
 * ClusterImagePolicy, ImagePolicy and TrustRoot objects one at a time, as the cluster holds them (not as a
 * folder's files): loaded with the same parsers, each error named by its field path alone (the
 * object is named once, around them), and apply-time validation (an AdmissionReview whose
 * object is one of them).
 */
import type { ImgverifyError } from '../index';
import { describeLocation, type PolicyLocation, type SecretLookup } from './crd-document';
import { parsePolicyObject, type PolicyParseResult } from './policy-documents';

/** The kinds apply-time validation checks, by API group. */
const POLICY_OBJECT_KINDS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'policy.sigstore.dev': ['ClusterImagePolicy', 'TrustRoot'],
  'policy.imgverify.dev': ['ImagePolicy'],
});

/** Whether objects of this group and kind are policy objects (checked at apply time). */
export function isPolicyObjectKind(group: string, kind: string): boolean {
  return Object.prototype.hasOwnProperty.call(POLICY_OBJECT_KINDS, group) && POLICY_OBJECT_KINDS[group]!.includes(kind);
}

/** Where an object of the cluster is (its kind and name, `namespace/name` for a namespaced one, in place of a file and document). */
function objectLocation(kind: string, name: string): PolicyLocation {
  return { file: `${kind} ${name}`, document: 0 };
}

/** An error's message without its location: `spec.authorities[0].key.data: not a PEM public key: …`. */
export function fieldMessage(error: ImgverifyError, location: PolicyLocation): string {
  const prefix = `${describeLocation(location)}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/** Loads one object of the cluster; `secrets` reads the Secrets a `secretRef` names. */
export function loadPolicyObject(
  kind: string,
  object: unknown,
  name: string,
  secrets?: SecretLookup,
): PolicyParseResult & { readonly location: PolicyLocation } {
  const location = objectLocation(kind, name);
  const result = parsePolicyObject(object, location, secrets ? { secrets } : {});
  // An informer of one kind hands over only that kind; anything else is not loaded.
  const wrongKind =
    (kind === 'TrustRoot' ? result.policies.length : result.trustRoots.length) > 0 ||
    result.policies.some((p) => (p.namespace !== undefined) !== (kind === 'ImagePolicy'));
  return wrongKind ? { ...result, policies: [], trustRoots: [], location } : { ...result, location };
}

/**
 * Apply-time validation: the messages (field paths first) for which a ClusterImagePolicy or
 * TrustRoot object would not load; empty when it would. A Secret it names is checked when it
 * exists (`secrets`), and may be created after it (not read: `deferred`).
 */
export function validatePolicyObject(object: unknown, secrets?: SecretLookup): string[] {
  const meta = typeof object === 'object' && object !== null ? (object as { metadata?: { name?: unknown; namespace?: unknown }; kind?: unknown }) : {};
  const bare = typeof meta.metadata?.name === 'string' ? meta.metadata.name : '(unnamed)';
  const name = meta.kind === 'ImagePolicy' && typeof meta.metadata?.namespace === 'string' ? `${meta.metadata.namespace}/${bare}` : bare;
  const kind = typeof meta.kind === 'string' ? meta.kind : 'object';
  const lookup: SecretLookup = (ref) => {
    const found = secrets?.(ref);
    return found === undefined || ('error' in found && found.missing === true) ? { deferred: true } : found;
  };
  const location = objectLocation(kind, name);
  return parsePolicyObject(object, location, { secrets: lookup }).errors.map((e) => fieldMessage(e, location));
}
