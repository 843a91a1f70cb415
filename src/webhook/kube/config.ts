/**
 * Where the Kubernetes API is and who the webhook is there, resolved the way Kubernetes
 * controllers do (controller-runtime's order): `--kubeconfig FILE`, else `$KUBECONFIG` (the
 * first file of the list that exists), else the in-cluster configuration of a Pod (the service
 * account's token and CA under /var/run/secrets/kubernetes.io/serviceaccount and
 * `KUBERNETES_SERVICE_HOST`/`_PORT`), else `~/.kube/config`. Never a default server: without
 * any of them the webhook refuses to start (client-node's own default would be
 * http://localhost:8080).
 *
 * The namespace (where `secretRef` Secrets are read): `--namespace`, else the kubeconfig
 * context's namespace (when a kubeconfig is used), else the service account's namespace file
 * (in a Pod), else `imgverify-system`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ImgverifyError } from '../../index';
import { describeValue, errorMessage } from '../../util/describe';
import type { KubeConfig, KubernetesClient } from './client';

const DEFAULT_NAMESPACE = 'imgverify-system';
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConnectionOptions {
  /** `--kubeconfig`: a kubeconfig file (wins over everything else). */
  readonly kubeconfig?: string | undefined;
  /** `--context`: a context of the kubeconfig other than its current one. */
  readonly context?: string | undefined;
  /** `--namespace`. */
  readonly namespace?: string | undefined;
  /** The environment (`KUBECONFIG`, `KUBERNETES_SERVICE_HOST`, `KUBERNETES_SERVICE_PORT`, `HOME`); default `process.env`. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** A folder the service account's files are read under instead of `/` (tests). */
  readonly serviceAccountRoot?: string;
}

export interface KubeConnection {
  readonly config: KubeConfig;
  readonly namespace: string;
  /** How it was found: `in-cluster`, or `kubeconfig FILE`. */
  readonly source: string;
  /** The API server's URL. */
  readonly server: string;
}

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

function configError(message: string, cause?: unknown): ImgverifyError {
  return new ImgverifyError('INVALID_OPTIONS', message, cause !== undefined ? { cause } : {});
}

function checkNamespace(namespace: string, from: string): string {
  if (!DNS_LABEL.test(namespace)) throw configError(`${from}: ${describeValue(namespace)} is not a namespace name (a lower-case RFC 1123 label)`);
  return namespace;
}

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.toLowerCase();
    return host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}

/** The kubeconfig file to use, if any: the flag, else the first existing file of $KUBECONFIG. */
function kubeconfigFile(options: KubeConnectionOptions, env: NodeJS.ProcessEnv): string | undefined {
  if (options.kubeconfig !== undefined) {
    if (!existsSync(options.kubeconfig)) throw configError(`--kubeconfig ${options.kubeconfig}: no such file`);
    return options.kubeconfig;
  }
  const list = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (list.length > 0) {
    const found = list.find((p) => existsSync(p));
    if (found === undefined) throw configError(`$KUBECONFIG names no file that exists: ${list.join(delimiter)}`);
    return found;
  }
  return undefined;
}

/** Resolves the connection (reads files; contacts nothing). */
export function resolveConnection(k8s: KubernetesClient, options: KubeConnectionOptions = {}): KubeConnection {
  const env = options.env ?? process.env;
  const root = options.serviceAccountRoot ?? '';
  const saDir = join(root === '' ? '/' : root, SERVICE_ACCOUNT_DIR);
  const config = new k8s.KubeConfig();
  let source: string;
  let file = kubeconfigFile(options, env);
  const inCluster = file === undefined && env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(join(saDir, 'token'));
  if (!inCluster && file === undefined && env.HOME && existsSync(join(env.HOME, '.kube', 'config'))) file = join(env.HOME, '.kube', 'config');
  if (file !== undefined) {
    try {
      config.loadFromFile(file);
    } catch (err) {
      throw configError(`cannot read the kubeconfig ${file}: ${errorMessage(err)}`, err);
    }
    if (options.context !== undefined) {
      if (!config.getContextObject(options.context)) throw configError(`--context ${options.context}: no such context in ${file}`);
      config.setCurrentContext(options.context);
    }
    source = `kubeconfig ${file}`;
  } else if (inCluster) {
    if (options.context !== undefined)
      throw configError('--context needs a kubeconfig (--kubeconfig or $KUBECONFIG); in a Pod there is only the in-cluster configuration');
    config.loadFromCluster(root);
    source = 'in-cluster';
  } else {
    throw configError(
      'no Kubernetes API configuration: not in a Pod (KUBERNETES_SERVICE_HOST and the service account token are absent), and no --kubeconfig, $KUBECONFIG or ~/.kube/config (or give --policies DIR to read policies from a folder)',
    );
  }
  const cluster = config.getCurrentCluster();
  if (!cluster) throw configError(`${source}: the current context names no cluster`);
  if (!/^https:\/\//i.test(cluster.server) && !isLoopbackUrl(cluster.server)) {
    throw configError(`${source}: the API server ${cluster.server} is not https (plain http only to a loopback address, such as kubectl proxy's)`);
  }

  // The namespace of the configuration in use: a kubeconfig's context, else the Pod's.
  const context = file !== undefined ? config.getContextObject(config.getCurrentContext())?.namespace : undefined;
  const namespaceFile = join(saDir, 'namespace');
  let namespace: string;
  if (options.namespace !== undefined) namespace = checkNamespace(options.namespace, '--namespace');
  else if (context) namespace = checkNamespace(context, `${source}: the context's namespace`);
  else if (existsSync(namespaceFile)) namespace = checkNamespace(readFileSync(namespaceFile, 'utf8').trim(), namespaceFile);
  else namespace = DEFAULT_NAMESPACE;
  return { config, namespace, source, server: cluster.server };
}
