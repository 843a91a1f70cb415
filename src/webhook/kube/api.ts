/**
 * The webhook's access to the Kubernetes API, through the official client
 * (`@kubernetes/client-node`): discovery, list (paged), get, the status subresource, and
 * informers (informer.ts). Every request has a deadline. Custom resources go through
 * `CustomObjectsApi` (plain JSON, as the API sent it); core resources through `CoreV1Api`.
 *
 * Objects read here are hostile input: consumers check their shape (the policy loader does).
 */
import { ImgverifyError } from '../../index';
import { describeValue, errorMessage } from '../../util/describe';
import { isRecord } from '../../util/shape';
import type { Logger } from '../log';
import { loadKubernetesClient, type KubeConfig, type KubernetesClient } from './client';
import { resolveConnection, type KubeConnectionOptions } from './config';
import { ResourceInformer, type InformerOptions } from './informer';
import { apiVersionOf, collectionPath, type KubeObject, type KubeResource } from './resources';

/** A request to the API server gets this long (a list of a big namespace included). */
const REQUEST_TIMEOUT_MS = 30_000;
/** Lists are read in pages of this many objects. */
const LIST_PAGE_SIZE = 500;

/** A failed API request: the HTTP status and the `Status` reason when the server answered. */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly reason?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KubeApiError';
  }
}

export interface KubeList {
  readonly items: KubeObject[];
  readonly resourceVersion: string;
}

type Call = (params: Record<string, unknown>, options?: unknown) => Promise<unknown>;

/** A KubeApiError from what the client threw (an ApiException with the server's Status, or a transport error). */
function apiError(what: string, err: unknown): KubeApiError {
  const code = isRecord(err) && typeof err['code'] === 'number' ? err['code'] : undefined;
  if (code !== undefined) {
    let body: unknown = isRecord(err) ? err['body'] : undefined;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // not a Status
      }
    }
    const status = isRecord(body) ? body : {};
    const message = typeof status['message'] === 'string' ? status['message'].slice(0, 1000) : `HTTP ${code}`;
    const reason = typeof status['reason'] === 'string' ? status['reason'] : undefined;
    return new KubeApiError(`${what}: ${message}`, code, reason, { cause: err });
  }
  const cause = isRecord(err) && err['cause'] !== undefined ? `: ${errorMessage(err['cause'])}` : '';
  return new KubeApiError(`${what}: ${errorMessage(err)}${cause}`, undefined, undefined, { cause: err });
}

/** A plain object (the core API's typed models, e.g. V1Secret, back to their JSON form). */
function plain(value: unknown): KubeObject {
  return JSON.parse(JSON.stringify(value)) as KubeObject;
}

/** A list's items and resourceVersion, checked. */
function readList(value: unknown, what: string): { items: KubeObject[]; resourceVersion: string; continue?: string } {
  const list = isRecord(value) ? value : {};
  const items = list['items'];
  const metadata = isRecord(list['metadata']) ? list['metadata'] : {};
  if (!Array.isArray(items)) throw new KubeApiError(`${what}: the answer is not a list (items: ${describeValue(items)})`);
  const resourceVersion = typeof metadata['resourceVersion'] === 'string' ? metadata['resourceVersion'] : '';
  const next = typeof metadata['continue'] === 'string' && metadata['continue'] !== '' ? metadata['continue'] : undefined;
  return {
    items: items.filter((i): i is KubeObject => isRecord(i) && isRecord(i['metadata']) && typeof i['metadata']['name'] === 'string'),
    resourceVersion,
    ...(next ? { continue: next } : {}),
  };
}

export class KubeApi {
  private readonly custom: Record<string, Call>;
  private readonly core: Record<string, Call>;
  private readonly apis: { getAPIVersions: (params?: unknown, options?: unknown) => Promise<unknown> };

  private constructor(
    readonly k8s: KubernetesClient,
    readonly config: KubeConfig,
    /** The webhook's namespace (where `secretRef` Secrets are read). */
    readonly namespace: string,
    /** How the configuration was found (`in-cluster`, `kubeconfig FILE`). */
    readonly source: string,
    readonly server: string,
  ) {
    this.custom = config.makeApiClient(k8s.CustomObjectsApi) as unknown as Record<string, Call>;
    this.core = config.makeApiClient(k8s.CoreV1Api) as unknown as Record<string, Call>;
    this.apis = config.makeApiClient(k8s.ApisApi) as unknown as KubeApi['apis'];
  }

  /** Loads the client and resolves the configuration (reads files; contacts nothing yet). */
  static async connect(options: KubeConnectionOptions = {}): Promise<KubeApi> {
    const k8s = await loadKubernetesClient();
    const { config, namespace, source, server } = resolveConnection(k8s, options);
    return new KubeApi(k8s, config, namespace, source, server);
  }

  /** Per-request options: a deadline on the whole exchange. */
  private deadline(): unknown {
    const { Observable } = this.k8s;
    return {
      middleware: [
        {
          pre: (context: { setSignal(signal: AbortSignal): void }) => {
            context.setSignal(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
            return new Observable(Promise.resolve(context));
          },
          post: (response: unknown) => new Observable(Promise.resolve(response)),
        },
      ],
      middlewareMergeStrategy: 'append',
    };
  }

  private async call(api: Record<string, Call>, method: string, params: Record<string, unknown>, what: string): Promise<unknown> {
    const fn = api[method];
    if (typeof fn !== 'function') throw new ImgverifyError('INTERNAL_ERROR', `the Kubernetes client has no ${method}`);
    try {
      return await fn.call(api, params, this.deadline());
    } catch (err) {
      throw apiError(what, err);
    }
  }

  /** The versions of an API group the server serves (discovery), or undefined when it serves none. */
  async servedVersions(group: string): Promise<string[] | undefined> {
    let list: unknown;
    try {
      list = await this.apis.getAPIVersions({}, this.deadline());
    } catch (err) {
      throw apiError('discovery (GET /apis)', err);
    }
    const groups = isRecord(list) && Array.isArray(list['groups']) ? (list['groups'] as unknown[]) : [];
    const found = groups.find((g): g is Record<string, unknown> => isRecord(g) && g['name'] === group);
    if (!found || !Array.isArray(found['versions'])) return undefined;
    return (found['versions'] as unknown[]).flatMap((v) => (isRecord(v) && typeof v['version'] === 'string' ? [v['version']] : []));
  }

  /** One page of a list (a core resource's method names follow the client's pattern: listNamespacedSecret, ...). */
  private async page(resource: KubeResource, namespace: string | undefined, next: string | undefined): Promise<unknown> {
    const what = `list ${collectionPath(resource, namespace)}`;
    const paging = { limit: LIST_PAGE_SIZE, ...(next !== undefined ? { _continue: next } : {}) };
    const { group, version, plural, kind } = resource;
    if (group !== '') {
      if (resource.namespaced && namespace !== undefined)
        return this.call(this.custom, 'listNamespacedCustomObject', { group, version, plural, namespace, ...paging }, what);
      return this.call(
        this.custom,
        resource.namespaced ? 'listCustomObjectForAllNamespaces' : 'listClusterCustomObject',
        { group, version, plural, resourcePlural: plural, ...paging },
        what,
      );
    }
    if (!resource.namespaced) return this.call(this.core, `list${kind}`, paging, what);
    if (namespace !== undefined) return this.call(this.core, `listNamespaced${kind}`, { namespace, ...paging }, what);
    return this.call(this.core, `list${kind}ForAllNamespaces`, paging, what);
  }

  /**
   * Every object of a resource (in a namespace, or all), read page by page at one
   * resourceVersion (the server's continue token keeps the snapshot).
   */
  async list(resource: KubeResource, namespace?: string): Promise<KubeList> {
    const items: KubeObject[] = [];
    let resourceVersion = '';
    let next: string | undefined;
    do {
      const page = readList(await this.page(resource, namespace, next), `list ${collectionPath(resource, namespace)}`);
      items.push(...page.items.map(plain));
      if (resourceVersion === '') resourceVersion = page.resourceVersion;
      next = page.continue;
    } while (next !== undefined);
    return { items, resourceVersion };
  }

  /** One object, or undefined when it does not exist. */
  async get(resource: KubeResource, name: string, namespace?: string): Promise<KubeObject | undefined> {
    const what = `get ${collectionPath(resource, namespace)}/${name}`;
    const { group, version, plural, kind } = resource;
    try {
      const object =
        group !== ''
          ? resource.namespaced
            ? await this.call(this.custom, 'getNamespacedCustomObject', { group, version, plural, namespace, name }, what)
            : await this.call(this.custom, 'getClusterCustomObject', { group, version, plural, name }, what)
          : await this.call(
              this.core,
              resource.namespaced ? `readNamespaced${kind}` : `read${kind}`,
              { name, ...(resource.namespaced ? { namespace } : {}) },
              what,
            );
      return plain(object);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Replaces the `status` of a custom resource (the status subresource), conditional on
   * `object.metadata.resourceVersion`: a KubeApiError with status 409 when it changed since.
   */
  async replaceStatus(resource: KubeResource, object: KubeObject, status: unknown): Promise<KubeObject> {
    const { name, namespace, resourceVersion } = object.metadata;
    const what = `update ${collectionPath(resource, namespace)}/${name}/status`;
    if (resource.group === '') throw new ImgverifyError('INTERNAL_ERROR', `${what}: only custom resources are written`);
    const body = {
      apiVersion: apiVersionOf(resource),
      kind: resource.kind,
      metadata: { name, ...(namespace !== undefined ? { namespace } : {}), resourceVersion },
      status,
    };
    const { group, version, plural } = resource;
    const written = resource.namespaced
      ? await this.call(this.custom, 'replaceNamespacedCustomObjectStatus', { group, version, plural, namespace, name, body }, what)
      : await this.call(this.custom, 'replaceClusterCustomObjectStatus', { group, version, plural, name, body }, what);
    return plain(written);
  }

  /** Creates a namespaced custom object (a KubeApiError with status 409 when it exists). */
  async create(resource: KubeResource, namespace: string, body: Record<string, unknown>): Promise<KubeObject> {
    const what = `create ${collectionPath(resource, namespace)}`;
    if (resource.group === '' || !resource.namespaced) throw new ImgverifyError('INTERNAL_ERROR', `${what}: only namespaced custom resources are written`);
    const { group, version, plural } = resource;
    return plain(await this.call(this.custom, 'createNamespacedCustomObject', { group, version, plural, namespace, body }, what));
  }

  /**
   * Replaces a namespaced custom object, conditional on `body.metadata.resourceVersion`: a
   * KubeApiError with status 409 when it changed since, 404 when it is gone.
   */
  async replace(resource: KubeResource, body: KubeObject): Promise<KubeObject> {
    const { name, namespace } = body.metadata;
    const what = `update ${collectionPath(resource, namespace)}/${name}`;
    if (resource.group === '' || !resource.namespaced || namespace === undefined)
      throw new ImgverifyError('INTERNAL_ERROR', `${what}: only namespaced custom resources are written`);
    const { group, version, plural } = resource;
    return plain(await this.call(this.custom, 'replaceNamespacedCustomObject', { group, version, plural, namespace, name, body }, what));
  }

  /** An informer (list, then watch) of a resource; call `start()`. */
  informer(resource: KubeResource, options: InformerOptions & { readonly log: Logger }): ResourceInformer {
    return new ResourceInformer(this, resource, options);
  }
}
