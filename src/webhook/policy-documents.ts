/**
 * The documents of a policy source: ClusterImagePolicy, ImagePolicy and TrustRoot objects, one at a time
 * (`parsePolicyObject`: a document already decoded, from a file or the Kubernetes API) or from
 * the text of a policy file (`parseClusterImagePolicies`). The document machinery is in
 * ./crd-document, the kinds in ./cluster-image-policy and ./trust-root.
 */
import type { ImgverifyError } from '../index';
import type { ClusterImagePolicy } from './cluster-image-policy-types';
import { CLUSTER_IMAGE_POLICY_KIND, IMAGE_POLICY_KIND } from './cluster-image-policy';
import { parseDocument, readDocumentStream, type DocumentKind, type ParseContext, type PolicyLocation, type PolicyWarning } from './crd-document';
import { duplicateNames, duplicateTrustRootNames } from './policy-set';
import { TRUST_ROOT_KIND } from './trust-root';
import { isTrustRoot, type TrustRootDocument } from './trust-root-types';

export interface PolicyParseResult {
  readonly policies: ClusterImagePolicy[];
  /** TrustRoot documents (policy.sigstore.dev/v1alpha1) in the same files. */
  readonly trustRoots: TrustRootDocument[];
  /** ImgverifyError(INVALID_POLICY), details `{file, document, path}`. */
  readonly errors: ImgverifyError[];
  readonly warnings: PolicyWarning[];
}

/** The kinds a policy source may hold. */
const POLICY_KINDS: readonly DocumentKind<ClusterImagePolicy | TrustRootDocument>[] = [CLUSTER_IMAGE_POLICY_KIND, IMAGE_POLICY_KIND, TRUST_ROOT_KIND];

/**
 * Validates one decoded document (a plain object from YAML, JSON or the Kubernetes API) at
 * `location`. Returns the policy or TrustRoot only when the document has no error. `context`
 * reads the Secrets a `secretRef` names (the cluster source; a folder has none).
 */
export function parsePolicyObject(value: unknown, location: PolicyLocation, context: ParseContext = {}): PolicyParseResult {
  const { document: parsed, errors, warnings } = parseDocument(value, location, POLICY_KINDS, context);
  const policies = parsed && !isTrustRoot(parsed) ? [parsed] : [];
  const trustRoots = parsed && isTrustRoot(parsed) ? [parsed] : [];
  return { policies, trustRoots, errors, warnings };
}

/**
 * Parses the text of a policy file: YAML with one or more `---`-separated documents, or
 * JSON (one document) when `file` ends in `.json`. Empty documents are skipped. Names must
 * be unique within the text. Policies are returned only when the whole text is valid.
 */
export function parseClusterImagePolicies(text: string, file: string): PolicyParseResult {
  const stream = readDocumentStream(text, file);
  const errors: ImgverifyError[] = [...stream.errors];
  const warnings: PolicyWarning[] = [...stream.warnings];
  const policies: ClusterImagePolicy[] = [];
  const trustRoots: TrustRootDocument[] = [];
  for (const { location, value } of stream.values) {
    const result = parsePolicyObject(value, location);
    errors.push(...result.errors);
    warnings.push(...result.warnings);
    policies.push(...result.policies);
    trustRoots.push(...result.trustRoots);
  }
  errors.push(...duplicateNames(policies), ...duplicateTrustRootNames(trustRoots));
  return errors.length > 0 ? { policies: [], trustRoots: [], errors, warnings } : { policies, trustRoots, errors, warnings };
}
