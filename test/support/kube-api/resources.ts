/**
 * The resource types the emulated API server serves: what discovery lists, how paths map to
 * storage, and which API-machinery rules apply to each (status subresource, generation,
 * pruning by a CRD's schema, unconditional updates).
 *
 * Adding a resource is one line in STANDARD_RESOURCES (or `crdResource(manifest)` for a CRD
 * file, which brings its schema for pruning). Every served version of a type reads and writes
 * the same stored objects, as a CRD whose versions have identical schemas does (conversion
 * `None`: only `apiVersion` differs).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Json } from '../json';
import { PROJECT_ROOT } from '../fixtures';

export interface ResourceType {
  /** "" for the core group. */
  readonly group: string;
  /** Served versions, preferred first (discovery's preferredVersion). */
  readonly versions: readonly string[];
  /** The plural, lower-case resource name of paths and RBAC (`secrets`, `clusterimagepolicies`). */
  readonly resource: string;
  readonly kind: string;
  readonly listKind: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly namespaced: boolean;
  /** A `status` subresource: the main resource ignores `status`, `/status` changes only it. */
  readonly status: boolean;
  /**
   * A custom resource: `metadata.generation` counts spec changes, an update must name the
   * `resourceVersion` it replaces (CRDs do not allow unconditional updates), and fields the
   * schema does not declare are pruned.
   */
  readonly custom: boolean;
  /** The openAPIV3Schema per version (pruning); absent: nothing is pruned. */
  readonly schemas?: Readonly<Record<string, Json>>;
}

type ResourceLine = Pick<ResourceType, 'group' | 'versions' | 'resource' | 'kind' | 'namespaced'> &
  Partial<Pick<ResourceType, 'status' | 'custom' | 'shortNames' | 'singular'>>;

/** A resource from its one-line description; the rest follows Kubernetes' naming conventions. */
function resourceType(line: ResourceLine): ResourceType {
  return Object.freeze({
    status: false,
    custom: line.group.includes('.') && !line.group.endsWith('.k8s.io'),
    shortNames: [],
    singular: line.kind.toLowerCase(),
    listKind: `${line.kind}List`,
    ...line,
  });
}

/** A resource from a CustomResourceDefinition (apiextensions.k8s.io/v1), with its schemas. */
function crdResource(crd: Json): ResourceType {
  if (crd?.kind !== 'CustomResourceDefinition') throw new Error('not a CustomResourceDefinition');
  const spec = crd.spec;
  const served = (spec.versions as Json[]).filter((v) => v.served !== false);
  // Discovery prefers the highest version by Kubernetes' version priority: GA > beta > alpha.
  const priority = (name: string): number => (/^v\d+$/.test(name) ? 3 : /beta/.test(name) ? 2 : 1);
  const versions = served.map((v) => String(v.name)).sort((a, b) => priority(b) - priority(a) || b.localeCompare(a, 'en', { numeric: true }));
  const schemas: Record<string, Json> = {};
  for (const v of served) if (v.schema?.openAPIV3Schema) schemas[String(v.name)] = v.schema.openAPIV3Schema;
  return Object.freeze({
    group: String(spec.group),
    versions,
    resource: String(spec.names.plural),
    kind: String(spec.names.kind),
    listKind: String(spec.names.listKind ?? `${spec.names.kind}List`),
    singular: String(spec.names.singular ?? String(spec.names.kind).toLowerCase()),
    shortNames: (spec.names.shortNames as string[] | undefined) ?? [],
    namespaced: spec.scope === 'Namespaced',
    status: served.some((v) => v.subresources?.status !== undefined),
    custom: true,
    schemas,
  });
}

// From the sources (jest) and from the compiled tools (build/tools/test/support/...) alike.
const DEPLOY = join(PROJECT_ROOT, 'deploy');

/** The CRDs of a manifest file under deploy/. */
function deployCrds(file: string): ResourceType[] {
  return parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'))
    .map((d) => d.toJS())
    .filter((d) => d?.kind === 'CustomResourceDefinition')
    .map(crdResource);
}

/** Core resources, and custom resources whose CRD is not (yet) in deploy/. */
export const STANDARD_RESOURCES: readonly ResourceType[] = [
  resourceType({ group: '', versions: ['v1'], resource: 'namespaces', kind: 'Namespace', namespaced: false, status: true, shortNames: ['ns'] }),
  resourceType({ group: '', versions: ['v1'], resource: 'secrets', kind: 'Secret', namespaced: true }),
  resourceType({ group: '', versions: ['v1'], resource: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] }),
  resourceType({ group: '', versions: ['v1'], resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'] }),
  resourceType({ group: '', versions: ['v1'], resource: 'pods', kind: 'Pod', namespaced: true, status: true, shortNames: ['po'] }),
];

/**
 * The resources the webhook's manifests define (deploy/crd-*.yaml, and OpenReports' Report CRD it
 * ships for clusters without one): served with their schemas, so what the webhook writes is
 * pruned by them as the API server would.
 */
export function deployResources(): ResourceType[] {
  return ['crd-clusterimagepolicy.yaml', 'crd-trustroot.yaml', 'crd-imagepolicy.yaml', 'openreports/crd-report.yaml'].flatMap(deployCrds);
}

/** `resource` or `resource.group` (kubectl's spelling), e.g. `secrets`, `clusterimagepolicies.policy.sigstore.dev`. */
export function resourceName(type: ResourceType): string {
  return type.group === '' ? type.resource : `${type.resource}.${type.group}`;
}

export function apiVersionOf(type: ResourceType, version: string): string {
  return type.group === '' ? version : `${type.group}/${version}`;
}
