/**
 * The emulated Kubernetes API server (server.ts) and what a client needs to reach it: a
 * kubeconfig file, an in-cluster service-account folder, and identities whose permissions
 * come from the RBAC manifests under deploy/ (so a missing rule there fails a test with 403).
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Json } from '../json';
import type { Identity, Rule, RunningKubeApi } from './server';
import { PROJECT_ROOT } from '../fixtures';

export { startKubeApi, type Identity, type Rule, type RunningKubeApi } from './server';
export { ApiError, Store } from './store';
export { deployResources, STANDARD_RESOURCES } from './resources';

/** Writes a kubeconfig for `api` with a bearer token (and a context namespace); returns its path. */
export function writeKubeconfig(path: string, api: Pick<RunningKubeApi, 'url' | 'ca'>, token: string, namespace?: string): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'emulated', cluster: { server: api.url, 'certificate-authority-data': Buffer.from(api.ca).toString('base64') } }],
    users: [{ name: 'tester', user: { token } }],
    contexts: [{ name: 'emulated', context: { cluster: 'emulated', user: 'tester', ...(namespace !== undefined ? { namespace } : {}) } }],
    'current-context': 'emulated',
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * What the kubelet gives a Pod, under `root` instead of `/`: the service account's token,
 * the cluster CA and the namespace file; and the environment that points at the API server.
 */
export function writeServiceAccount(
  root: string,
  api: Pick<RunningKubeApi, 'port' | 'ca'>,
  token: string,
  namespace: string,
): { dir: string; env: Record<string, string> } {
  const dir = join(root, SERVICE_ACCOUNT_PATH);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'token'), token);
  writeFileSync(join(dir, 'ca.crt'), api.ca);
  writeFileSync(join(dir, 'namespace'), namespace);
  return { dir, env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port) } };
}

// From the sources (jest) and from the compiled tools (build/tools/test/support/...) alike.
const DEPLOY = join(PROJECT_ROOT, 'deploy');

/** Every manifest under deploy/, and those of the overlays named (`audit`: deploy/audit/). */
export function deployManifests(...overlays: string[]): Json[] {
  return ['', ...overlays].flatMap((folder) =>
    readdirSync(join(DEPLOY, folder))
      .filter((f) => /\.ya?ml$/.test(f))
      .flatMap((f) => parseAllDocuments(readFileSync(join(DEPLOY, folder, f), 'utf8')).map((d) => d.toJS()))
      .filter((m) => m !== null),
  );
}

/**
 * The permissions RBAC grants a service account: the rules of every Role and ClusterRole
 * bound to it (a RoleBinding limits even a ClusterRole to its namespace).
 */
export function serviceAccountIdentity(manifests: readonly Json[], namespace: string, name: string): Identity {
  const rules: Rule[] = [];
  const roles = (kind: string, roleName: string, ns?: string): Json =>
    manifests.find((m) => m.kind === kind && m.metadata?.name === roleName && (ns === undefined || m.metadata?.namespace === ns));
  for (const binding of manifests.filter((m) => m.kind === 'RoleBinding' || m.kind === 'ClusterRoleBinding')) {
    const bound = (binding.subjects as Json[] | undefined)?.some(
      (s) => s.kind === 'ServiceAccount' && s.name === name && (s.namespace ?? binding.metadata?.namespace) === namespace,
    );
    if (!bound) continue;
    const scope = binding.kind === 'RoleBinding' ? String(binding.metadata.namespace) : undefined;
    const role = roles(binding.roleRef.kind, binding.roleRef.name, binding.roleRef.kind === 'Role' ? scope : undefined);
    if (!role) throw new Error(`${binding.kind} ${binding.metadata.name} refers to the missing ${binding.roleRef.kind} ${binding.roleRef.name}`);
    for (const rule of role.rules as Json[]) {
      rules.push({
        verbs: rule.verbs,
        apiGroups: rule.apiGroups ?? [''],
        resources: rule.resources,
        ...(rule.resourceNames ? { resourceNames: rule.resourceNames } : {}),
        ...(scope !== undefined ? { namespace: scope } : {}),
      });
    }
  }
  return { user: `system:serviceaccount:${namespace}:${name}`, rules };
}
