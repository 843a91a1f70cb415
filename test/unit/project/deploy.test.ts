/**
 * The Kubernetes manifests under deploy/ agree with each other and with the webhook code:
 * names, ports, paths, labels and the example policies.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseReference } from '../../../src/reference';
import { WEBHOOK_PATHS } from '../../../src/webhook/admission';
import { matchPolicies } from '../../../src/webhook/glob';
import { parseClusterImagePolicies } from '../../../src/webhook/policy-documents';
import type { Json } from '../../support/json';

type Manifest = Json;

const DEPLOY = join(__dirname, '..', '..', '..', 'deploy');
const NAMESPACE = 'imgverify-system';
const INCLUDE_LABEL = 'policy.sigstore.dev/include';

const files = readdirSync(DEPLOY).filter((f) => /\.ya?ml$/.test(f)).sort();
const manifests: Manifest[] = [];
for (const file of files) {
  for (const doc of parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'), { uniqueKeys: true })) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const value = doc.toJS();
    if (value !== null) manifests.push(Object.assign(value, { file }));
  }
}

function only(kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
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
    const clusterScoped = new Set(['Namespace', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'Kustomization']);
    for (const m of manifests.filter((x) => !clusterScoped.has(x.kind))) {
      expect([m.kind, m.metadata.name, m.metadata.namespace]).toEqual([m.kind, m.metadata.name, NAMESPACE]);
    }
    expect(only('Namespace').metadata.name).toBe(NAMESPACE);
  });

  it('list every manifest file in kustomization.yaml', () => {
    const kustomization = only('Kustomization');
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== 'kustomization.yaml'));
  });

  it('run 2 replicas with the webhook arguments', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(container.args[0]).toBe('webhook');
    expect(argument('--policies')).toBe('/etc/imgverify/policies');
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

    expect(volumes.get('policies').configMap.name).toBe(only('ConfigMap').metadata.name);
    expect(mountOf('policies')).toBe(argument('--policies'));

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
    expect(podSpec.automountServiceAccountToken).toBe(false);
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(new RegExp(`^USER ${podSpec.securityContext.runAsUser}:`, 'm'));
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/cli\/main\.js"\]$/m);
    expect(dockerfile).toMatch(/^FROM node:22-slim$/m);
  });

  describe.each([
    ['ValidatingWebhookConfiguration', WEBHOOK_PATHS.validate],
    ['MutatingWebhookConfiguration', WEBHOOK_PATHS.mutate],
  ])('%s', (kind, path) => {
    const configuration = only(kind);

    it(`calls the Service at ${path}`, () => {
      expect(configuration.webhooks).toHaveLength(1);
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

  it('ship example policies that load without errors and cover registry.k8s.io', () => {
    const configMap = only('ConfigMap');
    const entries = Object.entries(configMap.data as Record<string, string>);
    expect(entries.length).toBeGreaterThan(0);
    const policies = entries.flatMap(([key, text]) => {
      const result = parseClusterImagePolicies(text, key);
      expect(result.errors.map((e) => e.message)).toEqual([]);
      expect(result.warnings).toEqual([]);
      return result.policies;
    });
    const [k8s] = matchPolicies(policies, parseReference('registry.k8s.io/kube-apiserver:v1.30.0'));
    expect(k8s?.authorities[0]?.keyless?.identities).toEqual([
      { issuer: 'https://accounts.google.com', subject: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com' },
    ]);
  });
});
