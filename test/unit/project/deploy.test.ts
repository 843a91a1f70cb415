/**
 * The Kubernetes manifests under deploy/ agree with each other and with the webhook code:
 * names, ports, paths, labels, the RBAC cluster mode needs (and no more), the CRDs
 * (policy-controller's), the folder-mode overlay and the example policies.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseReference } from '../../../src/reference';
import { WEBHOOK_PATHS } from '../../../src/webhook/admission';
import { matchPolicies } from '../../../src/webhook/glob';
import { parseClusterImagePolicies, parsePolicyObject } from '../../../src/webhook/policy-documents';
import { describeInterop, interopPath } from '../../support/interop';
import type { Json } from '../../support/json';
import { jsonPatch } from '../../support/kube-api/documents';
import { serviceAccountIdentity, type Rule } from '../../support/kube-api';

type Manifest = Json;

const DEPLOY = join(__dirname, '..', '..', '..', 'deploy');
const NAMESPACE = 'imgverify-system';
const INCLUDE_LABEL = 'policy.sigstore.dev/include';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

function readManifests(dir: string, names: readonly string[]): Manifest[] {
  const out: Manifest[] = [];
  for (const file of names) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'), { uniqueKeys: true })) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const value = doc.toJS();
      if (value !== null) out.push(Object.assign(value, { file }));
    }
  }
  return out;
}

const files = yamlFiles(DEPLOY);
const manifests: Manifest[] = readManifests(DEPLOY, files);

function only(kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}

/** The example policy: Kubernetes release images, signed keyless by the release engineering account. */
function expectKubernetesReleasePolicy(policies: Parameters<typeof matchPolicies>[0]): void {
  const [k8s] = matchPolicies(policies, parseReference('registry.k8s.io/kube-apiserver:v1.30.0'));
  expect(k8s?.authorities[0]?.keyless?.identities).toEqual([
    { issuer: 'https://accounts.google.com', subject: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com' },
  ]);
}

function matchesSelector(labels: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

const deployment = only('Deployment');
const podSpec = deployment.spec.template.spec;
const container = podSpec.containers[0];
const service = only('Service');

function containerPort(port: number | string): number {
  if (typeof port === 'number') return port;
  const named = container.ports.find((p: Manifest) => p.name === port);
  if (!named) throw new Error(`no container port named ${port}`);
  return named.containerPort;
}

function argument(flag: string): string {
  const i = container.args.indexOf(flag);
  if (i === -1 || i + 1 >= container.args.length) throw new Error(`missing ${flag}`);
  return String(container.args[i + 1]);
}

describe('deploy/ manifests', () => {
  it('parse, each with apiVersion, kind and name', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const m of manifests) {
      expect([m.file, typeof m.apiVersion, typeof m.kind]).toEqual([m.file, 'string', 'string']);
      if (m.kind !== 'Kustomization') expect([m.file, typeof m.metadata?.name]).toEqual([m.file, 'string']);
    }
  });

  it('put every namespaced object in imgverify-system', () => {
    const clusterScoped = new Set([
      'Namespace',
      'MutatingWebhookConfiguration',
      'ValidatingWebhookConfiguration',
      'Kustomization',
      'CustomResourceDefinition',
      'ClusterRole',
      'ClusterRoleBinding',
    ]);
    for (const m of manifests.filter((x) => !clusterScoped.has(x.kind))) {
      expect([m.kind, m.metadata.name, m.metadata.namespace]).toEqual([m.kind, m.metadata.name, NAMESPACE]);
    }
    expect(only('Namespace').metadata.name).toBe(NAMESPACE);
  });

  it('list every manifest file in kustomization.yaml', () => {
    const kustomization = only('Kustomization');
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== 'kustomization.yaml'));
  });

  it('run 2 replicas with the webhook arguments, policies from the cluster', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(container.args[0]).toBe('webhook');
    expect(container.args).not.toContain('--policies');
    expect(argument('--tls-cert')).toBe('/etc/imgverify/tls/tls.crt');
    expect(argument('--tls-key')).toBe('/etc/imgverify/tls/tls.key');
    expect(argument('--port')).toBe('8443');
    expect(podSpec.serviceAccountName).toBe(only('ServiceAccount').metadata.name);
  });

  it('select the Deployment pods with its own selector, the Service and the PodDisruptionBudget', () => {
    const labels = deployment.spec.template.metadata.labels;
    expect(matchesSelector(labels, deployment.spec.selector.matchLabels)).toBe(true);
    expect(matchesSelector(labels, service.spec.selector)).toBe(true);
    expect(matchesSelector(labels, only('PodDisruptionBudget').spec.selector.matchLabels)).toBe(true);
  });

  it('survive a node drain: a PodDisruptionBudget keeping one of the two replicas, spread over nodes', () => {
    const pdb = only('PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    expect(pdb.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    const ownPods = deployment.spec.template.metadata.labels;
    const [antiAffinity] = podSpec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(antiAffinity.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(matchesSelector(ownPods, antiAffinity.podAffinityTerm.labelSelector.matchLabels)).toBe(true);
    const [spread] = podSpec.topologySpreadConstraints;
    expect(spread.topologyKey).toBe('topology.kubernetes.io/zone');
    expect(spread.whenUnsatisfiable).toBe('ScheduleAnyway');
    expect(matchesSelector(ownPods, spread.labelSelector.matchLabels)).toBe(true);
    // Required anti-affinity would stall a rolling update (maxSurge 1) on a two-node cluster.
    expect(podSpec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
  });

  it('give a terminating pod time to leave the Service and finish its requests', () => {
    const seconds = (flag: string, fallback: number): number => {
      const i = container.args.indexOf(flag);
      if (i === -1) return fallback;
      const m = /^(\d+)s$/.exec(String(container.args[i + 1]));
      if (!m) throw new Error(`${flag} ${container.args[i + 1]}: expected whole seconds`);
      return Number(m[1]);
    };
    const delay = seconds('--shutdown-delay', 0);
    const timeout = seconds('--timeout', 8);
    expect(delay).toBeGreaterThan(0);
    // Shutdown: the delay, in-flight requests up to the deadline, 2 s to answer, 1 s to close.
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(delay + timeout + 3);
  });

  it('route Service port 443 to the container port the server listens on', () => {
    expect(service.spec.ports).toHaveLength(1);
    const [port] = service.spec.ports;
    expect(port.port).toBe(443);
    expect(containerPort(port.targetPort)).toBe(Number(argument('--port')));
  });

  it('probe /healthz and /readyz over HTTPS on the container port', () => {
    for (const [probe, path] of [
      [container.livenessProbe, WEBHOOK_PATHS.healthz],
      [container.readinessProbe, WEBHOOK_PATHS.readyz],
    ] as const) {
      expect(probe.httpGet.path).toBe(path);
      expect(probe.httpGet.scheme).toBe('HTTPS');
      expect(containerPort(probe.httpGet.port)).toBe(Number(argument('--port')));
    }
  });

  it('mount every volume it uses, where the arguments and DOCKER_CONFIG expect them', () => {
    const volumes = new Map<string, Manifest>(podSpec.volumes.map((v: Manifest) => [v.name, v]));
    for (const mount of container.volumeMounts) expect([mount.name, volumes.has(mount.name)]).toEqual([mount.name, true]);
    const mountOf = (name: string): string => container.volumeMounts.find((m: Manifest) => m.name === name).mountPath;

    expect(volumes.has('policies')).toBe(false);

    const tlsSecret = only('Secret', volumes.get('tls').secret.secretName);
    expect(tlsSecret.type).toBe('kubernetes.io/tls');
    expect(argument('--tls-cert')).toBe(`${mountOf('tls')}/tls.crt`);
    expect(argument('--tls-key')).toBe(`${mountOf('tls')}/tls.key`);

    const docker = volumes.get('docker-config').secret;
    expect(only('Secret', docker.secretName).type).toBe('kubernetes.io/dockerconfigjson');
    expect(docker.items).toEqual([{ key: '.dockerconfigjson', path: 'config.json' }]);
    const dockerConfig = container.env.find((e: Manifest) => e.name === 'DOCKER_CONFIG').value;
    expect(dockerConfig).toBe(mountOf('docker-config'));
    expect(`${dockerConfig}/config.json`).toBe('/etc/imgverify/docker/config.json');
    // Writable: /tmp and the TUF cache (TrustRoot documents' metadata), both emptyDirs.
    expect(argument('--tuf-cache').startsWith(`${mountOf('tuf-cache')}/`)).toBe(true);
    expect(volumes.get('tuf-cache').emptyDir).toBeDefined();
    for (const mount of container.volumeMounts.filter((m: Manifest) => m.name !== 'tmp' && m.name !== 'tuf-cache')) expect(mount.readOnly).toBe(true);
  });

  it('run non-root with a read-only root file system, no privilege escalation, and resources', () => {
    expect(podSpec.securityContext.runAsNonRoot).toBe(true);
    expect(podSpec.securityContext.runAsUser).toBeGreaterThan(0);
    expect(podSpec.securityContext.seccompProfile.type).toBe('RuntimeDefault');
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
    expect(container.resources.limits.memory).toEqual(expect.any(String));
    // --workers defaults to the CPU limit rounded down: whole CPUs, at least 2, so both serve.
    const cpus = Number(container.resources.limits.cpu);
    expect([Number.isInteger(cpus), cpus >= 2]).toEqual([true, true]);
    expect(container.args).not.toContain('--workers');
    const mebibytes = (q: string): number => Number(/^(\d+)(Mi|Gi)$/.exec(q)![1]) * (q.endsWith('Gi') ? 1024 : 1);
    expect(mebibytes(container.resources.requests.memory)).toBeLessThanOrEqual(mebibytes(container.resources.limits.memory));
    // Cluster mode reads the API with the service account's token.
    expect(podSpec.automountServiceAccountToken).toBe(true);
    expect(only('ServiceAccount').automountServiceAccountToken).not.toBe(false);
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(new RegExp(`^USER ${podSpec.securityContext.runAsUser}:`, 'm'));
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/cli\/main\.js"\]$/m);
    expect(dockerfile).toMatch(/^FROM node:22-slim$/m);
  });

  it("the image installs the webhook's optional dependencies (package.json peerDependencies) at the locked versions, then prunes the devDependencies", () => {
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    const script = /node -e "([^"]+)"/.exec(dockerfile)?.[1];
    expect(script).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'imgverify-dockerfile-'));
    try {
      copyFileSync(join(__dirname, '..', '..', '..', 'package.json'), join(dir, 'package.json'));
      execFileSync(process.execPath, ['-e', script!], { cwd: dir });
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<
        'dependencies' | 'devDependencies' | 'peerDependencies',
        Record<string, string>
      >;
      expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['@bufbuild/cel', '@bufbuild/protobuf', '@kubernetes/client-node', 'tar-stream', 'yaml']);
      for (const [name, range] of Object.entries(pkg.peerDependencies)) {
        expect(pkg.dependencies[name]).toBe(range);
        expect(pkg.devDependencies[name]).toBeUndefined();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const steps = dockerfile.slice(dockerfile.indexOf('node -e'));
    expect(steps.indexOf('npm install --package-lock-only')).toBeGreaterThan(0);
    expect(steps.indexOf('npm prune --omit=dev')).toBeGreaterThan(steps.indexOf('npm install --package-lock-only'));
  });

  describe.each([
    ['ValidatingWebhookConfiguration', WEBHOOK_PATHS.validate],
    ['MutatingWebhookConfiguration', WEBHOOK_PATHS.mutate],
  ])('%s', (kind, path) => {
    const configuration = only(kind);

    it(`calls the Service at ${path}`, () => {
      expect(configuration.webhooks).toHaveLength(kind === 'ValidatingWebhookConfiguration' ? 2 : 1);
      const [webhook] = configuration.webhooks;
      expect(webhook.clientConfig.service).toEqual({
        name: service.metadata.name,
        namespace: service.metadata.namespace,
        path,
        port: service.spec.ports[0].port,
      });
      expect(webhook.name.split('.').length).toBeGreaterThanOrEqual(3);
    });

    it('fails closed, has no side effects, speaks admission v1 and times out', () => {
      const [webhook] = configuration.webhooks;
      expect(webhook.failurePolicy).toBe('Fail');
      expect(webhook.sideEffects).toBe('None');
      expect(webhook.admissionReviewVersions).toEqual(['v1']);
      expect(webhook.timeoutSeconds).toBeGreaterThanOrEqual(1);
      expect(webhook.timeoutSeconds).toBeLessThanOrEqual(30);
    });

    it('selects opted-in namespaces only, never its own', () => {
      const [webhook] = configuration.webhooks;
      expect(webhook.namespaceSelector).toEqual({ matchLabels: { [INCLUDE_LABEL]: 'true' } });
      const ownNamespace = only('Namespace', NAMESPACE);
      expect(matchesSelector(ownNamespace.metadata.labels, webhook.namespaceSelector.matchLabels)).toBe(false);
    });

    it('covers pods, ephemeral containers and every workload kind, on create and update', () => {
      const [webhook] = configuration.webhooks;
      const covered = new Set<string>();
      for (const rule of webhook.rules) {
        expect(rule.operations).toEqual(expect.arrayContaining(['CREATE', 'UPDATE']));
        for (const group of rule.apiGroups) for (const resource of rule.resources) covered.add(`${group}/${resource}`);
      }
      expect([...covered].sort()).toEqual(
        [
          '/pods',
          '/pods/ephemeralcontainers',
          '/replicationcontrollers',
          'apps/daemonsets',
          'apps/deployments',
          'apps/replicasets',
          'apps/statefulsets',
          'batch/cronjobs',
          'batch/jobs',
        ].sort(),
      );
    });
  });

  it('validate ClusterImagePolicy, ImagePolicy and TrustRoot objects when applied, without blocking the policies that make the webhook ready', () => {
    const [, policies] = only('ValidatingWebhookConfiguration').webhooks;
    expect(policies.clientConfig.service).toEqual({
      name: service.metadata.name,
      namespace: service.metadata.namespace,
      path: WEBHOOK_PATHS.validate,
      port: 443,
    });
    expect(policies.rules).toEqual([
      {
        apiGroups: ['policy.sigstore.dev'],
        apiVersions: ['v1alpha1', 'v1beta1'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['clusterimagepolicies', 'trustroots'],
        scope: 'Cluster',
      },
      {
        apiGroups: ['policy.imgverify.dev'],
        apiVersions: ['v1alpha1'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['imagepolicies'],
        scope: 'Namespaced',
      },
    ]);
    // Not ready until a policy loads: Fail here would refuse that very policy.
    expect(policies.failurePolicy).toBe('Ignore');
    expect([policies.sideEffects, policies.admissionReviewVersions]).toEqual(['None', ['v1']]);
    expect(policies.namespaceSelector).toBeUndefined();
  });

  describe('RBAC: what cluster mode needs, and no more', () => {
    const identity = serviceAccountIdentity(manifests, NAMESPACE, only('ServiceAccount').metadata.name);
    const rules = identity.rules as Rule[];
    const may = (verb: string, group: string, resource: string, namespace?: string): boolean =>
      rules.some(
        (r) =>
          r.verbs.includes(verb) &&
          r.apiGroups.includes(group) &&
          r.resources.includes(resource) &&
          (r.namespace === undefined || r.namespace === namespace) &&
          r.resourceNames === undefined,
      );

    it('lists, watches and reads both policy kinds, and writes only their status', () => {
      for (const resource of ['clusterimagepolicies', 'trustroots']) {
        for (const verb of ['get', 'list', 'watch']) expect([resource, verb, may(verb, 'policy.sigstore.dev', resource)]).toEqual([resource, verb, true]);
        for (const verb of ['create', 'update', 'patch', 'delete'])
          expect([resource, verb, may(verb, 'policy.sigstore.dev', resource)]).toEqual([resource, verb, false]);
        expect(may('update', 'policy.sigstore.dev', `${resource}/status`)).toBe(true);
      }
    });

    it('lists, watches and reads ImagePolicies in every namespace, and writes only their status', () => {
      for (const namespace of ['team-a', NAMESPACE]) {
        for (const verb of ['get', 'list', 'watch']) expect([verb, may(verb, 'policy.imgverify.dev', 'imagepolicies', namespace)]).toEqual([verb, true]);
        for (const verb of ['create', 'update', 'patch', 'delete'])
          expect([verb, may(verb, 'policy.imgverify.dev', 'imagepolicies', namespace)]).toEqual([verb, false]);
        expect(may('update', 'policy.imgverify.dev', 'imagepolicies/status', namespace)).toBe(true);
      }
    });

    it('reads no Pods and writes no Reports unless the audit overlay is applied', () => {
      expect(may('list', '', 'pods', 'team-a')).toBe(false);
      expect(may('create', 'openreports.io', 'reports', 'team-a')).toBe(false);
    });

    it('lists and watches Secrets of its own namespace only; reads single Secrets and ServiceAccounts elsewhere (pull secrets)', () => {
      for (const verb of ['get', 'list', 'watch']) expect(may(verb, '', 'secrets', NAMESPACE)).toBe(true);
      expect(may('list', '', 'secrets', 'team-a')).toBe(false);
      expect(may('watch', '', 'secrets', 'team-a')).toBe(false);
      expect(may('get', '', 'secrets', 'team-a')).toBe(true);
      expect(may('get', '', 'serviceaccounts', 'team-a')).toBe(true);
    });

    it('never creates, changes or deletes an object, and never uses wildcards', () => {
      for (const rule of rules) {
        expect(
          rule.verbs.filter((v) => !['get', 'list', 'watch'].includes(v) && !(v === 'update' && rule.resources.every((r) => r.endsWith('/status')))),
        ).toEqual([]);
        for (const list of [rule.verbs, rule.apiGroups, rule.resources]) expect(list).not.toContain('*');
      }
    });
  });

  describe('CRDs', () => {
    const crds = manifests.filter((m) => m.kind === 'CustomResourceDefinition');

    it('serve ClusterImagePolicy (v1alpha1 and v1beta1) and TrustRoot (v1alpha1) with a status subresource, converting by apiVersion alone', () => {
      expect(crds.map((c) => c.metadata.name).sort()).toEqual([
        'clusterimagepolicies.policy.sigstore.dev',
        'imagepolicies.policy.imgverify.dev',
        'trustroots.policy.sigstore.dev',
      ]);
      const cip = crds.find((c) => c.spec.names.kind === 'ClusterImagePolicy');
      expect(cip.spec.versions.map((v: Json) => [v.name, v.served, v.storage, v.subresources])).toEqual([
        ['v1alpha1', true, true, { status: {} }],
        ['v1beta1', true, false, { status: {} }],
      ]);
      // Identical schemas: no conversion webhook is needed to read one version as the other.
      expect(cip.spec.versions[0].schema).toEqual(cip.spec.versions[1].schema);
      for (const crd of crds) expect([crd.metadata.name, crd.spec.conversion]).toEqual([crd.metadata.name, { strategy: 'None' }]);
    });

    it("serve the namespaced ImagePolicy (policy.imgverify.dev/v1alpha1) with a ClusterImagePolicy's spec and status schemas", () => {
      const ip = crds.find((c) => c.spec.names.kind === 'ImagePolicy');
      const cip = crds.find((c) => c.spec.names.kind === 'ClusterImagePolicy');
      expect([ip.spec.group, ip.spec.scope, ip.spec.names.plural]).toEqual(['policy.imgverify.dev', 'Namespaced', 'imagepolicies']);
      expect(ip.spec.versions.map((v: Json) => [v.name, v.served, v.storage, v.subresources])).toEqual([['v1alpha1', true, true, { status: {} }]]);
      const schema = (crd: Json, version: string): Json => crd.spec.versions.find((v: Json) => v.name === version).schema.openAPIV3Schema;
      const withoutDescription = ({ description: _d, ...rest }: Json): Json => rest;
      expect(withoutDescription(schema(ip, 'v1alpha1').properties.spec)).toEqual(withoutDescription(schema(cip, 'v1beta1').properties.spec));
      expect(schema(ip, 'v1alpha1').properties.status).toEqual(schema(cip, 'v1beta1').properties.status);
      // An example of the kind, as a team writes one, loads.
      const example = {
        apiVersion: 'policy.imgverify.dev/v1alpha1',
        kind: 'ImagePolicy',
        metadata: { name: 'team', namespace: 'team-a' },
        spec: {
          images: [{ glob: 'ghcr.io/team-a/**' }],
          authorities: [{ keyless: { identities: [{ issuer: 'https://token.actions.githubusercontent.com', subjectRegExp: '^https://github.com/team-a/' }] } }],
        },
      };
      expect(parsePolicyObject(example, { file: 'example', document: 0 }).policies).toHaveLength(1);
    });

    describeInterop("are policy-controller's", () => {
      it("same group, names, scope, versions and schemas as policy-controller's config/300-*.yaml", () => {
        for (const [file, ours] of [
          ['300-clusterimagepolicy.yaml', 'crd-clusterimagepolicy.yaml'],
          ['300-trustroot.yaml', 'crd-trustroot.yaml'],
        ] as const) {
          const theirs = parseAllDocuments(readFileSync(interopPath('policy-controller', 'config', file), 'utf8'))[0]!.toJS();
          const mine = manifests.find((m) => m.file === ours);
          expect(mine).toBeDefined();
          const { conversion: _theirs, ...theirSpec } = theirs.spec;
          const { conversion: _mine, ...mySpec } = mine.spec;
          expect([ours, mine.metadata.name, mySpec]).toEqual([ours, theirs.metadata.name, theirSpec]);
        }
      });
    });
  });

  it('ship an example ClusterImagePolicy that loads without errors and covers registry.k8s.io', () => {
    const dir = join(DEPLOY, 'examples');
    const examples = readManifests(dir, yamlFiles(dir));
    expect(examples.length).toBeGreaterThan(0);
    const policies = examples.flatMap((object, document) => {
      const { file: _file, ...value } = object;
      const result = parsePolicyObject(value, { file: object.file, document });
      expect(result.errors.map((e) => e.message)).toEqual([]);
      expect(result.warnings).toEqual([]);
      return result.policies;
    });
    expectKubernetesReleasePolicy(policies);
  });

  describe('the periodic audit (deploy/audit/) and the OpenReports CRD (deploy/openreports/)', () => {
    const dir = join(DEPLOY, 'audit');
    const overlay = readManifests(dir, yamlFiles(dir));
    const kustomization = overlay.find((m) => m.kind === 'Kustomization');
    const [patch] = kustomization.patches;
    const { file: _file, ...plain } = deployment;
    const patched: Manifest = jsonPatch(plain, parseAllDocuments(patch.patch)[0]!.toJS());

    it('builds on deploy/ and turns the audit on, with reports', () => {
      expect(kustomization.resources).toEqual(['../', ...yamlFiles(dir).filter((f) => f !== 'kustomization.yaml')]);
      expect(patch.target).toEqual({ kind: 'Deployment', name: deployment.metadata.name });
      const args: string[] = patched.spec.template.spec.containers[0].args;
      expect(args[args.indexOf('--audit-interval') + 1]).toMatch(/^\d+m$/);
      expect(args).toContain('--write-reports');
    });

    it('grants the audit Pods (list, watch) and Reports (get, list, create, update) in every namespace, nothing else', () => {
      const identity = serviceAccountIdentity([...manifests, ...overlay], NAMESPACE, only('ServiceAccount').metadata.name);
      const base = serviceAccountIdentity(manifests, NAMESPACE, only('ServiceAccount').metadata.name);
      const added = (identity.rules as Rule[]).slice((base.rules as Rule[]).length);
      expect(added.map((r) => [r.apiGroups, r.resources, [...r.verbs].sort(), r.namespace])).toEqual([
        [[''], ['pods'], ['list', 'watch'], undefined],
        [['openreports.io'], ['reports'], ['create', 'get', 'list', 'update'], undefined],
      ]);
    });

    it("ships OpenReports' Report CRD (openreports.io/v1alpha1, namespaced, reports) for clusters without it", () => {
      const crd = readManifests(join(DEPLOY, 'openreports'), ['crd-report.yaml'])[0];
      expect([crd.kind, crd.metadata.name, crd.spec.group, crd.spec.scope, crd.spec.names.kind, crd.spec.names.plural]).toEqual([
        'CustomResourceDefinition',
        'reports.openreports.io',
        'openreports.io',
        'Namespaced',
        'Report',
        'reports',
      ]);
      const schema = crd.spec.versions[0].schema.openAPIV3Schema.properties;
      expect(schema.results.items.properties.result.enum).toEqual(['pass', 'fail', 'warn', 'error', 'skip']);
      expect(schema.results.items.required).toEqual(['policy']);
      expect(Object.keys(schema.summary.properties)).toEqual(['pass', 'fail', 'warn', 'error', 'skip']);
      // Not in deploy/'s own kustomization: a cluster with OpenReports (from Kyverno) keeps its CRD.
      expect(only('Kustomization').resources.some((r: string) => r.includes('openreports'))).toBe(false);
    });
  });

  describe('folder mode (deploy/folder-mode/)', () => {
    const dir = join(DEPLOY, 'folder-mode');
    const overlay = readManifests(dir, yamlFiles(dir));
    const kustomization = overlay.find((m) => m.kind === 'Kustomization');
    const configMap = overlay.find((m) => m.kind === 'ConfigMap');
    const [patch] = kustomization.patches;
    const { file: _file, ...plain } = deployment;
    const patched: Manifest = jsonPatch(plain, parseAllDocuments(patch.patch)[0]!.toJS());
    const patchedContainer = patched.spec.template.spec.containers[0];

    it('builds on deploy/ and adds the policy ConfigMap', () => {
      expect(kustomization.resources).toEqual(['../', ...yamlFiles(dir).filter((f) => f !== 'kustomization.yaml')]);
      expect(patch.target).toEqual({ kind: 'Deployment', name: deployment.metadata.name });
      expect(configMap.metadata.namespace).toBe(NAMESPACE);
    });

    it('mounts the ConfigMap where --policies reads it', () => {
      const args: string[] = patchedContainer.args;
      const folder = args[args.indexOf('--policies') + 1];
      expect(folder).toBe('/etc/imgverify/policies');
      const mount = patchedContainer.volumeMounts.find((m: Json) => m.name === 'policies');
      expect(mount).toEqual({ name: 'policies', mountPath: folder, readOnly: true });
      const volume = patched.spec.template.spec.volumes.find((v: Json) => v.name === 'policies');
      expect(volume.configMap.name).toBe(configMap.metadata.name);
    });

    it('ships example policies that load without errors and cover registry.k8s.io', () => {
      const entries = Object.entries(configMap.data as Record<string, string>);
      expect(entries.length).toBeGreaterThan(0);
      const policies = entries.flatMap(([key, text]) => {
        const result = parseClusterImagePolicies(text, key);
        expect(result.errors.map((e) => e.message)).toEqual([]);
        expect(result.warnings).toEqual([]);
        return result.policies;
      });
      expectKubernetesReleasePolicy(policies);
    });
  });
});
