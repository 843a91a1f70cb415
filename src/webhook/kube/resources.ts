/**
 * The Kubernetes resources the webhook reads and writes, by group, version and plural name.
 * A resource is one line here; the API access (api.ts) and the informers (informer.ts) take
 * any of them.
 */

export interface KubeResource {
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  /** The plural, lower-case name of its paths and RBAC rules. */
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** The fields of an object every resource has; everything else is the resource's own. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
    readonly generation?: number;
    readonly [field: string]: unknown;
  };
  readonly [field: string]: unknown;
}

export const POLICY_GROUP = 'policy.sigstore.dev';

/** The versions of ClusterImagePolicy the webhook reads, preferred first (the CRD serves the same objects through each). */
export const CLUSTER_IMAGE_POLICY_VERSIONS = ['v1beta1', 'v1alpha1'] as const;

export function clusterImagePolicies(version: string): KubeResource {
  return { group: POLICY_GROUP, version, plural: 'clusterimagepolicies', kind: 'ClusterImagePolicy', namespaced: false };
}

export const TRUST_ROOTS: KubeResource = { group: POLICY_GROUP, version: 'v1alpha1', plural: 'trustroots', kind: 'TrustRoot', namespaced: false };
export const SECRETS: KubeResource = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
export const SERVICE_ACCOUNTS: KubeResource = { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true };
export const PODS: KubeResource = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };
/** imgverify's namespaced ImagePolicy (deploy/crd-imagepolicy.yaml). */
export const IMAGE_POLICY_GROUP = 'policy.imgverify.dev';
export const IMAGE_POLICIES: KubeResource = { group: IMAGE_POLICY_GROUP, version: 'v1alpha1', plural: 'imagepolicies', kind: 'ImagePolicy', namespaced: true };
/** OpenReports' Report (openreports.io/v1alpha1), where audits are written. */
export const REPORTS: KubeResource = { group: 'openreports.io', version: 'v1alpha1', plural: 'reports', kind: 'Report', namespaced: true };

export function apiVersionOf(resource: KubeResource): string {
  return resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
}

/** The collection's path: `/api/v1/namespaces/NS/secrets`, `/apis/GROUP/VERSION/PLURAL` (all namespaces without one). */
export function collectionPath(resource: KubeResource, namespace?: string): string {
  const base = resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  return resource.namespaced && namespace !== undefined
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}`
    : `${base}/${resource.plural}`;
}

/** `kind/name` or `kind namespace/name`, for messages and logs. */
export function describeObject(resource: KubeResource, object: Pick<KubeObject, 'metadata'>): string {
  const { name, namespace } = object.metadata;
  return resource.namespaced && namespace !== undefined ? `${resource.kind} ${namespace}/${name}` : `${resource.kind} ${name}`;
}
