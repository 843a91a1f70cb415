/**
 * `spec.match`: which admitted objects a ClusterImagePolicy applies to, by resource (group,
 * version, resource) and the object's labels. Read here (`parseMatch`, for
 * ./cluster-image-policy) and decided here (`policyAppliesTo`, for ./evaluate), on plain
 * inputs: the object's resource and labels, wherever they come from (an AdmissionReview, a
 * manifest file, an object listed from the cluster).
 *
 * policy-controller's semantics (`GetMatchingPolicies` in its pkg/apis/config): a policy with
 * match entries applies when one entry names the object's resource — group and resource
 * exactly, version exactly or `*` — and, when it has a selector, the object's own
 * `metadata.labels` satisfy it (a Deployment's labels, not its pod template's). Two differences,
 * both to Kubernetes' own naming: the resource is the one the API server says it admits (the
 * AdmissionReview's `resource`), where policy-controller maps a kind through a table of its
 * own that misspells ReplicaSet and puts DaemonSets in the core group; and ReplicationControllers
 * and PodTemplates, whose images imgverify checks, may be named too.
 *
 * Label selectors are Kubernetes' (`metav1.LabelSelectorAsSelector`): matchLabels and
 * matchExpressions (In, NotIn, Exists, DoesNotExist), all ANDed, with its syntax rules for keys
 * and values checked at load (policy-controller finds a bad selector only when an object is
 * admitted, and then denies every image).
 */
import type { LabelSelector, LabelSelectorRequirement, MatchResource } from './cluster-image-policy-types';
import { isRecord, own } from '../util/shape';
import { describeYamlValue, DNS_SUBDOMAIN, type Checker, type Json } from './crd-document';

/** The admitted object as far as `spec.match` is concerned. */
export interface MatchedObject {
  /** What the API server admits (an AdmissionReview's `request.resource`): `apps`/`v1`/`deployments`. */
  readonly resource: { readonly group: string; readonly version: string; readonly resource: string };
  /** The object's own `metadata.labels`. */
  readonly labels: Readonly<Record<string, string>>;
}

/** The resources policy-controller accepts in `spec.match[].resource`, and the two more imgverify admits. */
const MATCH_RESOURCES: readonly string[] = Object.freeze([
  'pods',
  'deployments',
  'replicasets',
  'statefulsets',
  'daemonsets',
  'jobs',
  'cronjobs',
  'replicationcontrollers',
  'podtemplates',
]);

const OPERATORS: readonly LabelSelectorRequirement['operator'][] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

// Kubernetes' label syntax (k8s.io/apimachinery validation: IsQualifiedName, IsValidLabelValue).
const LABEL_NAME = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

/** Why `key` is not a label key (`[prefix/]name`), or undefined. */
function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return 'its prefix must be a lower-case DNS subdomain of at most 253 characters';
  }
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    return 'its name must be 1-63 characters: letters, digits, "-", "_", ".", starting and ending with a letter or digit';
  }
  return undefined;
}

/** Why `value` is not a label value, or undefined. */
function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !LABEL_NAME.test(value)) {
    return 'a label value is at most 63 characters: letters, digits, "-", "_", ".", starting and ending with a letter or digit';
  }
  return undefined;
}

/** A label key or value as Kubernetes allows it, or undefined after recording why not. */
function label(c: Checker, value: unknown, path: string, part: 'key' | 'value'): string | undefined {
  if (typeof value !== 'string') {
    c.error(path, `expected a ${part === 'key' ? 'label key' : 'string label value'}, got ${describeYamlValue(value)}`);
    return undefined;
  }
  const problem = part === 'key' ? labelKeyProblem(value) : labelValueProblem(value);
  if (problem) {
    c.error(path, `invalid label ${part} ${JSON.stringify(value)}: ${problem}`);
    return undefined;
  }
  return value;
}

function parseRequirement(c: Checker, value: unknown, path: string): LabelSelectorRequirement | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['key', 'operator', 'values']);
  let key: string | undefined;
  if (obj['key'] === undefined || obj['key'] === null) c.error(`${path}.key`, 'missing field: key is required');
  else key = label(c, obj['key'], `${path}.key`, 'key');
  const operator = c.string(obj, 'operator', path);
  if (operator === undefined) {
    c.error(`${path}.operator`, `missing field: operator is required (${OPERATORS.join(', ')})`);
    return undefined;
  }
  if (!(OPERATORS as readonly string[]).includes(operator)) {
    c.error(`${path}.operator`, `invalid value ${JSON.stringify(operator)}: expected one of ${OPERATORS.join(', ')}`);
    return undefined;
  }
  const list = obj['values'] === undefined || obj['values'] === null ? [] : c.array(obj['values'], `${path}.values`);
  if (!list) return undefined;
  const values: string[] = [];
  list.forEach((v, i) => {
    const checked = label(c, v, `${path}.values[${i}]`, 'value');
    if (checked !== undefined) values.push(checked);
  });
  const setBased = operator === 'In' || operator === 'NotIn';
  if (setBased && list.length === 0) c.error(`${path}.values`, `missing field: ${operator} needs at least one value`);
  if (!setBased && list.length > 0) c.error(`${path}.values`, `invalid value: ${operator} takes no values`);
  if (key === undefined || values.length !== list.length) return undefined;
  return Object.freeze({ key, operator: operator as LabelSelectorRequirement['operator'], values: Object.freeze(values) });
}

function parseSelector(c: Checker, value: unknown, path: string): LabelSelector | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['matchLabels', 'matchExpressions']);
  const errors = c.errors.length;
  const matchLabels: Record<string, string> = {};
  if (obj['matchLabels'] !== undefined && obj['matchLabels'] !== null) {
    const labels = c.object(obj['matchLabels'], `${path}.matchLabels`);
    for (const [k, v] of Object.entries(labels ?? {})) {
      const where = `${path}.matchLabels.${k}`;
      const key = label(c, k, where, 'key');
      const val = label(c, v, where, 'value');
      if (key !== undefined && val !== undefined) matchLabels[key] = val;
    }
  }
  const matchExpressions: LabelSelectorRequirement[] = [];
  if (obj['matchExpressions'] !== undefined && obj['matchExpressions'] !== null) {
    c.array(obj['matchExpressions'], `${path}.matchExpressions`)?.forEach((item, i) => {
      const requirement = parseRequirement(c, item, `${path}.matchExpressions[${i}]`);
      if (requirement) matchExpressions.push(requirement);
    });
  }
  if (c.errors.length > errors) return undefined;
  return Object.freeze({ matchLabels: Object.freeze(matchLabels), matchExpressions: Object.freeze(matchExpressions) });
}

/** `spec.match`: every entry checked, every problem recorded on `c`; undefined for an empty list. */
export function parseMatch(c: Checker, value: unknown, path: string): readonly MatchResource[] | undefined {
  const list = c.array(value, path);
  if (!list) return undefined;
  const out: MatchResource[] = [];
  list.forEach((item, i) => {
    const where = `${path}[${i}]`;
    const obj = c.object(item, where);
    if (!obj) return;
    c.onlyKnown(obj, where, ['group', 'version', 'resource', 'selector']);
    const group = c.string(obj, 'group', where) ?? '';
    const version = c.string(obj, 'version', where) ?? '';
    const resource = c.string(obj, 'resource', where) ?? '';
    if (resource !== '' && !MATCH_RESOURCES.includes(resource)) {
      c.error(`${where}.resource`, `invalid value ${JSON.stringify(resource)}: unsupported resource name (expected one of ${MATCH_RESOURCES.join(', ')})`);
      return;
    }
    const hasSelector = obj['selector'] !== undefined && obj['selector'] !== null;
    if (hasSelector && group === '' && version === '' && resource === '') {
      c.error(`${where}.selector`, 'invalid value: a selector requires a resource type (resource, version or group) to match the labels of');
      return;
    }
    const selector = hasSelector ? parseSelector(c, obj['selector'], `${where}.selector`) : undefined;
    if (hasSelector && !selector) return;
    if (resource === '') {
      // policy-controller compares the resource exactly: an entry without one selects nothing.
      c.warn(`${where}.resource`, 'no resource: this entry matches no admitted object (the resource is compared exactly, as policy-controller does)');
    } else if (version === '') {
      c.warn(`${where}.version`, 'no version: this entry matches no admitted object (write the version, or "*" for any)');
    }
    out.push(Object.freeze({ group, version, resource, ...(selector ? { selector } : {}) }));
  });
  return out.length > 0 ? Object.freeze(out) : undefined;
}

// --- Deciding ----------------------------------------------------------------------------------

function requirementHolds(requirement: LabelSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, requirement.key);
  const value = has ? labels[requirement.key] : undefined;
  switch (requirement.operator) {
    case 'In':
      return has && requirement.values.includes(value!);
    case 'NotIn':
      return !has || !requirement.values.includes(value!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/** Whether labels satisfy a selector (every matchLabels pair and every expression). */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (!Object.prototype.hasOwnProperty.call(labels, key) || labels[key] !== value) return false;
  }
  return selector.matchExpressions.every((r) => requirementHolds(r, labels));
}

/** Whether one match entry selects the object. */
function matchSelects(match: MatchResource, object: MatchedObject): boolean {
  const { group, version, resource } = object.resource;
  if (match.resource !== resource || match.group !== group) return false;
  if (match.version !== '*' && match.version !== version) return false;
  return match.selector === undefined || selectorMatches(match.selector, object.labels);
}

/**
 * Whether a policy applies to an admitted object: an ImagePolicy only to objects of its namespace;
 * always without `spec.match`; with it, when an entry selects the object. Without an object (or a
 * namespace) to decide on (a bare list of images), a policy with `spec.match` (an ImagePolicy)
 * applies: the stricter reading, never an image let through because nothing said what runs it.
 */
export function policyAppliesTo(
  policy: { readonly match?: readonly MatchResource[]; readonly namespace?: string },
  object: MatchedObject | undefined,
  namespace?: string,
): boolean {
  if (policy.namespace !== undefined && namespace !== undefined && policy.namespace !== namespace) return false;
  if (!policy.match || policy.match.length === 0 || object === undefined) return true;
  return policy.match.some((m) => matchSelects(m, object));
}

/**
 * The labels of an object as `spec.match` reads them: `metadata.labels`, string values only (the
 * API server admits no other; anything else in hostile input is left out, never converted).
 */
export function objectLabels(object: Json | null | undefined): Record<string, string> {
  const metadata = object ? own(object, 'metadata') : undefined;
  const labels = isRecord(metadata) ? own(metadata, 'labels') : undefined;
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (!isRecord(labels)) return out;
  for (const [key, value] of Object.entries(labels)) if (typeof value === 'string') out[key] = value;
  return out;
}
