/**
 * Policies from the cluster (`imgverify webhook` without `--policies`): the ClusterImagePolicy
 * (policy.sigstore.dev, v1beta1 or v1alpha1, whichever the CRD serves; the same objects) and
 * TrustRoot (v1alpha1) objects, and the Secrets of the webhook's namespace that `secretRef`s
 * name, each read by an informer; kept in force in the evaluator, with each object's status.
 *
 *   informers ──(any change, debounced)──► rebuild: every object loaded on its own
 *     ClusterImagePolicy ─ parsePolicyObject(object, {secrets}) ─┐
 *     TrustRoot ────────── parsePolicyObject(object) ────────────┼─► the set of those that load
 *     Secret (namespace) ─ secretLookup (exactly one data entry) ┘      │
 *                                                                        ▼
 *     trust.load(TrustRoots) → evaluator.setPolicies (a no-op when nothing changed)
 *     each object's Ready condition → StatusWriter (written only when it differs)
 *
 * Unlike a folder (one bad file keeps the last good set), an object that does not load is not
 * enforced and does not stop the others: its status says why, with field paths. A policy
 * naming a TrustRoot that is missing or does not load is Ready False; one that names a missing
 * TrustRoot is not enforced (as the folder refuses it), one whose TrustRoot fails to load stays
 * enforced and its authorities fail closed.
 *
 * Changes are gathered for `debounceMs` (100 ms) after the first one, then every object is
 * loaded again. Ready (/readyz) only while every informer is synced (listed, then watching) and a set is in
 * force: an API server that cannot be reached keeps the webhook not ready, and one that stops
 * answering makes it not ready (the evaluator keeps the last set meanwhile). Seams: `kinds`
 * below is where another kind of policy object plugs in; `secretLookup` is where Secrets are
 * read; `statusOf` is where a load error becomes a status.
 */
import { createHash } from 'node:crypto';
import type { ImgverifyError } from '../../index';
import { errorMessage } from '../../util/describe';
import { policyKey, type ClusterImagePolicy } from '../cluster-image-policy-types';
import type { PolicyWarning } from '../crd-document';
import type { PolicyEvaluator } from '../evaluate';
import type { Logger } from '../log';
import type { WebhookMetrics } from '../metrics';
import { fieldMessage, loadPolicyObject, validatePolicyObject } from '../policy-objects';
import type { PolicySet } from '../policy-folder';
import { unknownTrustRootRefs } from '../policy-set';
import type { TrustRefresher } from '../trust-refresh';
import type { TrustRootDocument } from '../trust-root-types';
import { KubeApi } from './api';
import type { KubeConnectionOptions } from './config';
import type { ResourceInformer } from './informer';
import {
  CLUSTER_IMAGE_POLICY_VERSIONS,
  clusterImagePolicies,
  describeObject,
  IMAGE_POLICIES,
  IMAGE_POLICY_GROUP,
  POLICY_GROUP,
  SECRETS,
  TRUST_ROOTS,
  type KubeObject,
  type KubeResource,
} from './resources';
import { secretLookup } from './secrets';
import { REASON_INVALID, REASON_KEYS, REASON_TRUST_ROOT, StatusWriter, type Readiness } from './status';

export interface ClusterPolicySourceOptions {
  readonly api: KubeApi;
  readonly evaluator: PolicyEvaluator;
  readonly trust: TrustRefresher;
  readonly metrics: WebhookMetrics;
  readonly log: Logger;
  /** Accept a cluster where no ClusterImagePolicy loads (default false: not ready). */
  readonly allowEmpty?: boolean;
  /** Write each object's status (default true). */
  readonly writeStatus?: boolean;
  /** Quiet time after a change before the policies are rebuilt, ms (default 100). */
  readonly debounceMs?: number;
  /** Informer restart backoff, ms (default 200 doubling to 10 000). */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

/** Every object is loaded again this often even without a change (TrustRoots that became usable, statuses to retry). */
const RESYNC_INTERVAL_MS = 30_000;

/** A kind of policy object read from the cluster. */
interface PolicyKind {
  readonly kind: 'ClusterImagePolicy' | 'ImagePolicy' | 'TrustRoot';
  readonly resource: KubeResource;
  readonly informer: ResourceInformer;
}

/** One object, loaded (or not), and what its status should say. */
interface LoadedObject {
  readonly kind: PolicyKind;
  readonly object: KubeObject;
  readonly policy?: ClusterImagePolicy;
  readonly trustRoot?: TrustRootDocument;
  readonly errors: string[];
  readonly reason: string;
  readonly warnings: readonly PolicyWarning[];
  /** Secrets it read (name → resourceVersion). */
  readonly secrets: ReadonlyMap<string, string>;
}

export class ClusterPolicySource {
  private kinds: PolicyKind[] = [];
  private secrets: ResourceInformer | undefined;
  private readonly writer: StatusWriter | undefined;
  private stopped = false;
  private discoveryError: string | undefined;
  /** ImagePolicy (policy.imgverify.dev) is not served: looked for again at every resync. */
  private imagePoliciesMissing = false;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private rebuilding: Promise<void> | undefined;
  private again = false;
  /** Why the loaded set is not put in force (empty), if it is not. */
  private refusal: string | undefined;
  /** The last errors logged per object, so a rebuild logs only changes. */
  private readonly logged = new Map<string, string>();

  private constructor(private readonly options: ClusterPolicySourceOptions) {
    if (options.writeStatus !== false) {
      this.writer = new StatusWriter(options.api, { log: options.log, count: (result) => options.metrics.statusWrites.inc({ result }) });
    }
  }

  /** The API connection (also where admitted objects' pull secrets are read). */
  get api(): KubeApi {
    return this.options.api;
  }

  /** Starts reading the cluster (returns at once; `ready()` says when the policies are in force). */
  static start(options: ClusterPolicySourceOptions): ClusterPolicySource {
    const source = new ClusterPolicySource(options);
    options.log('info', 'reading policies from the Kubernetes API', {
      server: options.api.server,
      config: options.api.source,
      namespace: options.api.namespace,
    });
    void source.discover(options.retryInitialMs ?? 200);
    return source;
  }

  /** Finds the ClusterImagePolicy version the CRD serves, then starts the informers (retrying until it can). */
  private async discover(retryMs: number): Promise<void> {
    if (this.stopped) return;
    const { api, log } = this.options;
    let served: string[] | undefined;
    const before = this.discoveryError;
    try {
      served = await api.servedVersions(POLICY_GROUP);
      this.discoveryError =
        served === undefined
          ? `the API server serves no ${POLICY_GROUP} resources: install the ClusterImagePolicy and TrustRoot CRDs (deploy/crd-*.yaml)`
          : undefined;
    } catch (err) {
      this.discoveryError = `discovery of ${POLICY_GROUP}: ${errorMessage(err)}`;
    }
    const version = CLUSTER_IMAGE_POLICY_VERSIONS.find((v) => served?.includes(v));
    if (served !== undefined && version === undefined)
      this.discoveryError = `${POLICY_GROUP} serves ${served.join(', ')}, not ${CLUSTER_IMAGE_POLICY_VERSIONS.join(' or ')}`;
    if (this.discoveryError !== undefined || version === undefined) {
      log(this.discoveryError === before ? 'debug' : 'warn', 'Kubernetes API: cannot read policies yet; not ready', {
        error: this.discoveryError ?? null,
        retryInMs: retryMs,
      });
      this.options.metrics.ready.set(0);
      this.discoveryTimer = setTimeout(() => void this.discover(Math.min(retryMs * 2, this.options.retryMaxMs ?? 10_000)), retryMs);
      this.discoveryTimer.unref();
      return;
    }
    const informer = (resource: KubeResource, namespace?: string): ResourceInformer => {
      const i = api.informer(resource, {
        log,
        onChange: () => this.schedule(),
        ...(namespace !== undefined ? { namespace } : {}),
        ...(this.options.retryInitialMs !== undefined ? { retryInitialMs: this.options.retryInitialMs } : {}),
        ...(this.options.retryMaxMs !== undefined ? { retryMaxMs: this.options.retryMaxMs } : {}),
      });
      return i;
    };
    const cips = clusterImagePolicies(version);
    this.kinds = [
      { kind: 'ClusterImagePolicy', resource: cips, informer: informer(cips) },
      { kind: 'TrustRoot', resource: TRUST_ROOTS, informer: informer(TRUST_ROOTS) },
    ];
    this.secrets = informer(SECRETS, api.namespace);
    log('info', 'watching policies', {
      clusterImagePolicies: `${POLICY_GROUP}/${version}`,
      trustRoots: `${POLICY_GROUP}/${TRUST_ROOTS.version}`,
      secrets: `namespace ${api.namespace}`,
    });
    for (const i of this.informers()) i.start();
    this.makeInformer = informer;
    await this.discoverImagePolicies();
    // What the objects alone do not say changes too (a TrustRoot's mirror answers): loaded again periodically.
    this.resync = setInterval(() => {
      if (this.imagePoliciesMissing) void this.discoverImagePolicies();
      this.schedule();
    }, RESYNC_INTERVAL_MS);
    this.resync.unref();
  }

  private makeInformer: ((resource: KubeResource, namespace?: string) => ResourceInformer) | undefined;

  /**
   * Namespaced ImagePolicies (policy.imgverify.dev), in every namespace, when their CRD is
   * installed. Without it there can be none, so the cluster's policies are complete without it;
   * it is looked for again at every resync (a CRD installed later is read from then on).
   */
  private async discoverImagePolicies(): Promise<void> {
    if (this.stopped || !this.makeInformer || this.kinds.some((k) => k.kind === 'ImagePolicy')) return;
    let served: string[] | undefined;
    try {
      served = await this.options.api.servedVersions(IMAGE_POLICY_GROUP);
    } catch (err) {
      this.options.log('warn', 'Kubernetes API: discovery of ImagePolicy failed; looked for again later', { error: errorMessage(err) });
      this.imagePoliciesMissing = true;
      return;
    }
    if (this.stopped) return;
    if (!served?.includes(IMAGE_POLICIES.version)) {
      if (!this.imagePoliciesMissing) {
        this.options.log(
          'info',
          `the API server serves no ${IMAGE_POLICY_GROUP}/${IMAGE_POLICIES.version}: namespaced ImagePolicies are not read (install deploy/crd-imagepolicy.yaml to use them)`,
        );
      }
      this.imagePoliciesMissing = true;
      return;
    }
    this.imagePoliciesMissing = false;
    const informer = this.makeInformer(IMAGE_POLICIES);
    this.kinds.push({ kind: 'ImagePolicy', resource: IMAGE_POLICIES, informer });
    this.options.log('info', 'watching ImagePolicies', { imagePolicies: `${IMAGE_POLICY_GROUP}/${IMAGE_POLICIES.version}`, namespaces: 'all' });
    informer.start();
  }

  private informers(): ResourceInformer[] {
    return [...this.kinds.map((k) => k.informer), ...(this.secrets ? [this.secrets] : [])];
  }

  /** Every informer synced and a set in force. */
  ready(): boolean {
    const informers = this.informers();
    return !this.stopped && informers.length > 0 && informers.every((i) => i.synced) && this.refusal === undefined && this.options.evaluator.ready;
  }

  /** Why it is not ready (for /readyz), if it is not. */
  notReadyReason(): string | undefined {
    if (this.ready()) return undefined;
    if (this.discoveryError !== undefined) return this.discoveryError;
    const unsynced = this.informers().filter((i) => !i.synced);
    if (unsynced.length > 0) return unsynced.map((i) => i.lastError ?? `${i.path}: not listed yet`).join('; ');
    return this.refusal ?? 'policies not loaded yet';
  }

  /** Apply-time validation of an object (the same loader, the same Secrets). */
  validate(object: unknown): string[] {
    const secrets = this.secrets;
    return validatePolicyObject(
      object,
      secrets ? secretLookup(this.options.api.namespace, (name) => secrets.get(name, this.options.api.namespace)) : undefined,
    );
  }

  private schedule(): void {
    if (this.stopped) return;
    for (const i of this.informers()) this.options.metrics.kubernetesSynced.set(i.synced ? 1 : 0, { resource: i.path });
    if (!this.ready()) this.options.metrics.ready.set(0);
    // Within debounceMs of the first change (a stream of changes cannot postpone it).
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.run();
    }, this.options.debounceMs ?? 100);
    this.debounce.unref();
  }

  /** Rebuilds now, or once more after the rebuild under way (rebuilds never overlap). */
  private run(): void {
    if (this.rebuilding) {
      this.again = true;
      return;
    }
    this.rebuilding = this.rebuild()
      .catch((err: unknown) => this.options.log('error', 'loading the policies from the cluster failed', { error: errorMessage(err) }))
      .finally(() => {
        this.rebuilding = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.run();
        }
      });
  }

  private loadObjects(): LoadedObject[] {
    const namespace = this.options.api.namespace;
    const secrets = this.secrets!;
    const loaded: LoadedObject[] = [];
    for (const kind of this.kinds) {
      for (const object of kind.informer.objects()) {
        const used = new Map<string, string>();
        const lookup = kind.kind === 'ClusterImagePolicy' ? secretLookup(namespace, (name) => secrets.get(name, namespace), used) : undefined;
        const result = loadPolicyObject(kind.kind, object, objectName(object), lookup);
        const errors = result.errors.map((e: ImgverifyError) => fieldMessage(e, result.location));
        const secretFailed = result.errors.some((e) => {
          const path = (e.details as { path?: unknown } | undefined)?.path;
          return typeof path === 'string' && path.endsWith('.secretRef');
        });
        loaded.push({
          kind,
          object,
          ...(result.policies[0] ? { policy: result.policies[0] } : {}),
          ...(result.trustRoots[0] ? { trustRoot: result.trustRoots[0] } : {}),
          errors,
          reason: secretFailed ? REASON_KEYS : REASON_INVALID,
          warnings: result.warnings,
          secrets: used,
        });
      }
    }
    return loaded.sort((a, b) =>
      a.kind.kind === b.kind.kind ? objectName(a.object).localeCompare(objectName(b.object)) : a.kind.kind.localeCompare(b.kind.kind),
    );
  }

  private async rebuild(): Promise<void> {
    const { evaluator, trust, metrics, log } = this.options;
    if (this.stopped || this.informers().length === 0 || !this.informers().every((i) => i.synced)) return;
    const objects = this.loadObjects();
    const trustRoots = objects.flatMap((o) => (o.trustRoot ? [o.trustRoot] : []));
    let policies = objects.flatMap((o) => (o.policy ? [o.policy] : []));
    // A policy naming a TrustRoot that does not load is not enforced (the folder refuses it too).
    const refErrors = new Map<string, string[]>();
    const names = new Set(trustRoots.map((t) => t.name));
    for (const policy of policies) {
      const errors = unknownTrustRootRefs([policy], names).map((e) => fieldMessage(e, policy.source).replace(/ in the policy folder$/, ' that loads'));
      if (errors.length > 0) refErrors.set(policyKey(policy), errors);
    }
    policies = policies.filter((p) => !refErrors.has(policyKey(p)));

    // The TrustRoots first: a keyless.url or ctlog.url must name a service one of the webhook's
    // roots (default trust and TrustRoots) lists; a policy with one that none lists is not enforced.
    await trust.load({ trustRoots });
    if (this.stopped) return;
    const urlErrors = new Map<string, string[]>();
    for (const policy of policies) {
      const errors = evaluator.serviceUrlErrors([policy], { trustRoots: trust.roots }).map((e) => fieldMessage(e, policy.source));
      if (errors.length > 0) urlErrors.set(policyKey(policy), errors);
    }
    policies = policies.filter((p) => !urlErrors.has(policyKey(p)));
    for (const [name, errors] of urlErrors) refErrors.set(name, errors);

    const version = createHash('sha256');
    for (const o of objects) {
      if (!o.policy && !o.trustRoot) continue;
      if (o.policy && refErrors.has(policyKey(o.policy))) continue;
      version.update(JSON.stringify([o.kind.kind, objectName(o.object), o.object['spec'] ?? null, [...o.secrets]])).update('\0');
    }
    const set: PolicySet = {
      policies,
      trustRoots,
      version: `sha256:${version.digest('hex')}`,
      errors: [],
      warnings: objects.flatMap((o) => o.warnings),
      files: [],
    };
    if (policies.length === 0 && this.options.allowEmpty !== true) {
      const total = objects.filter((o) => o.kind.kind === 'ClusterImagePolicy').length;
      this.refusal =
        total === 0
          ? 'no ClusterImagePolicy in the cluster: an empty policy set is refused (it would leave every image to the --no-match setting); pass --allow-empty-policies if no policy is meant'
          : `none of the ${total} ClusterImagePolicy objects loads (see their status): an empty policy set is refused; pass --allow-empty-policies if no policy is meant`;
    } else {
      this.refusal = undefined;
      const before = evaluator.version;
      evaluator.setPolicies(set, { trustRoots: trust.roots });
      if (before !== evaluator.version) {
        metrics.policyReloads.inc({ result: 'loaded' });
        log('info', before === undefined ? 'policies loaded' : 'policies reloaded', {
          version: set.version,
          policies: policies.map(policyKey),
          trustRoots: trustRoots.map((t) => t.name),
        });
        for (const unusable of evaluator.unusableAuthorities()) log('warn', 'authority can never pass', unusable);
      }
    }
    metrics.ready.set(this.ready() ? 1 : 0);

    // Status, and logs of what changed.
    const counts = new Map<string, number>();
    for (const o of objects) {
      const readiness = this.statusOf(o, o.policy ? refErrors.get(policyKey(o.policy)) : undefined);
      const label = { kind: o.kind.kind, ready: readiness.ready ? 'true' : 'false' };
      counts.set(JSON.stringify(label), (counts.get(JSON.stringify(label)) ?? 0) + 1);
      const key = `${o.kind.kind}/${objectName(o.object)}`;
      const text = readiness.ready ? '' : (readiness.message ?? '');
      if (this.logged.get(key) !== text) {
        const enforced = o.policy !== undefined && !refErrors.has(policyKey(o.policy));
        const what = enforced
          ? `${o.kind.kind} is enforced, but an authority fails`
          : o.kind.kind === 'TrustRoot'
            ? 'TrustRoot cannot be used; authorities using it fail'
            : `${o.kind.kind} does not load; not enforced`;
        if (!readiness.ready)
          log('error', what, { object: describeObject(o.kind.resource, o.object), reason: readiness.reason ?? null, errors: readiness.message ?? null });
        else if (this.logged.has(key)) log('info', `${o.kind.kind} loads again`, { object: describeObject(o.kind.resource, o.object) });
        this.logged.set(key, text);
      }
      this.writer?.update(o.kind.resource, o.object, readiness);
    }
    for (const kind of ['ClusterImagePolicy', 'ImagePolicy', 'TrustRoot'])
      for (const ready of ['true', 'false']) metrics.policyObjects.set(counts.get(JSON.stringify({ kind, ready })) ?? 0, { kind, ready });
    const present = new Set(objects.map((o) => `${o.kind.kind}/${objectName(o.object)}`));
    for (const key of [...this.logged.keys()]) if (!present.has(key)) this.logged.delete(key);
  }

  /** The Ready condition of one object: its load errors, or the TrustRoots it needs. */
  private statusOf(o: LoadedObject, refErrors: string[] | undefined): Readiness {
    if (o.errors.length > 0) return { ready: false, reason: o.reason, message: o.errors.join('; ') };
    // TrustRoots the policy names (trustRootRef) or selects (keyless.url, ctlog.url).
    if (refErrors) return { ready: false, reason: REASON_TRUST_ROOT, message: refErrors.join('; ') };
    const roots = this.options.trust.roots;
    if (o.trustRoot) {
      const failure = roots.failure(o.trustRoot.name);
      return failure ? { ready: false, reason: REASON_KEYS, message: failure.message } : { ready: true };
    }
    const failing = new Set<string>();
    for (const authority of o.policy?.authorities ?? []) {
      for (const name of Object.values(authority.trustRootRefs ?? {}) as Array<string | undefined>) {
        const failure = name !== undefined ? roots.failure(name) : undefined;
        if (failure)
          failing.add(`TrustRoot ${JSON.stringify(name)} cannot be used (${failure.message}): authority ${JSON.stringify(authority.name)} fails until it can`);
      }
    }
    return failing.size > 0 ? { ready: false, reason: REASON_TRUST_ROOT, message: [...failing].join('; ') } : { ready: true };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.discoveryTimer) clearTimeout(this.discoveryTimer);
    if (this.resync) clearInterval(this.resync);
    if (this.debounce) clearTimeout(this.debounce);
    this.writer?.stop();
    await Promise.all(this.informers().map((i) => i.stop()));
  }
}

/** An object's name as policies and statuses name it: `name`, or `namespace/name` for a namespaced one. */
function objectName(object: KubeObject): string {
  return object.metadata.namespace !== undefined ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name;
}

/** Connects to the API server (reads the configuration; INVALID_OPTIONS when there is none) and starts reading. */
export async function startClusterPolicies(
  options: Omit<ClusterPolicySourceOptions, 'api'> & { readonly connection: KubeConnectionOptions },
): Promise<ClusterPolicySource> {
  const { connection, ...rest } = options;
  return ClusterPolicySource.start({ ...rest, api: await KubeApi.connect(connection) });
}
