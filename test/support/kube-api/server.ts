/**
 * An emulation of the Kubernetes API server for tests, over HTTPS with a test CA and bearer
 * tokens, following the API's conventions (https://kubernetes.io/docs/reference/using-api/api-concepts/):
 *
 * - paths `/api/v1/...` and `/apis/{group}/{version}/...`, cluster-scoped and namespaced,
 *   collections across all namespaces; discovery (`/api`, `/apis`, `/apis/{group}`, the
 *   resource lists, `/version`);
 * - GET, LIST (`resourceVersion`, `resourceVersionMatch`, `limit`/`continue`, label and field
 *   selectors), WATCH (`watch=1`, `resourceVersion`, `allowWatchBookmarks`, `timeoutSeconds`:
 *   newline-delimited ADDED/MODIFIED/DELETED/BOOKMARK/ERROR events), POST, PUT, PATCH (merge,
 *   JSON, strategic as merge), DELETE with preconditions; the `status` subresource;
 * - `Status` objects for errors: 401 without a valid token, 403 for what a token's rules do
 *   not allow, 404, 409 (AlreadyExists, Conflict), 410 Expired (a compacted resourceVersion),
 *   422, 504.
 *
 * Tests drive faults: compact the history, drop or expire watches, send a bookmark now, make
 * the server unreachable and reachable again (same port), or answer a request their own way.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { errorMessage } from '../../../src/util/describe';
import type { Json } from '../json';
import { createCa, issueServerCert, type TestCa } from '../registry/certs';
import { fieldSelector, labelSelector, DocumentError } from './documents';
import { apiVersionOf, deployResources, STANDARD_RESOURCES, type ResourceType } from './resources';
import { ApiError, Store, type FieldValidation, type PatchType, type StoredEvent } from './store';

/** An RBAC rule, as in a Role or ClusterRole (`*` matches anything). */
export interface Rule {
  readonly verbs: readonly string[];
  readonly apiGroups: readonly string[];
  /** `secrets`, `clusterimagepolicies/status`, ... */
  readonly resources: readonly string[];
  readonly resourceNames?: readonly string[];
  /** A Role's namespace; absent: a ClusterRole (every namespace). */
  readonly namespace?: string;
}

export interface Identity {
  readonly user: string;
  /** `admin` may do anything (system:masters). */
  readonly rules: readonly Rule[] | 'admin';
}

interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly user?: string;
  readonly verb?: string;
  readonly status: number;
}

type RequestHook = (request: {
  method: string;
  path: string;
  query: URLSearchParams;
  verb?: string;
  resource?: string;
  subresource?: string;
}) => { status: number; body?: Json } | 'reset' | undefined;

export interface KubeApiOptions {
  /** Resource types served (default: STANDARD_RESOURCES and the CRDs under deploy/). */
  readonly resources?: readonly ResourceType[];
  /** Namespaces that exist at start (default `default`, `kube-system`). */
  readonly namespaces?: readonly string[];
  /** How often a watch that asked for bookmarks gets one (default 1 s; 0: only on `bookmark()`). */
  readonly bookmarkIntervalMs?: number;
}

export interface RunningKubeApi {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** PEM of the CA that signed the serving certificate. */
  readonly ca: string;
  readonly store: Store;
  /** Every request answered, in order. */
  readonly requests: RequestRecord[];
  /** Issues a bearer token for an identity. */
  token(identity: Identity): string;
  /** A token that may do anything. */
  readonly adminToken: string;
  /** Answers requests a test's way first (return undefined to let the server answer). */
  hook: RequestHook | undefined;
  /** Watches currently open. */
  readonly watchCount: number;
  /** Cuts every watch connection (the client sees a broken stream). */
  dropWatches(): void;
  /** Ends every watch cleanly (the client sees the stream end, as at its timeout). */
  endWatches(): void;
  /** Compacts the history, then tells every open watch it is too old (ERROR 410 Expired) and ends it. */
  expireWatches(): void;
  /** Sends a BOOKMARK to every watch that asked for bookmarks. */
  bookmark(): void;
  /** Closes the listening socket and every connection: the server is unreachable until `reachable()`. */
  unreachable(): Promise<void>;
  /** Listens again on the same port. */
  reachable(): Promise<void>;
  stop(): Promise<void>;
}

interface OpenWatch {
  readonly res: ServerResponse;
  readonly type: ResourceType;
  readonly version: string;
  readonly bookmarks: boolean;
  lastRevision: number;
  readonly timer?: NodeJS.Timeout;
}

interface Route {
  readonly type: ResourceType;
  readonly version: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 3 * 1024 * 1024) throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is larger than 3 MiB');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer): Json {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `the body of the request was in an unknown format: ${errorMessage(err)}`);
  }
}

function allows(
  rules: readonly Rule[] | 'admin',
  verb: string,
  group: string,
  resource: string,
  namespace: string | undefined,
  name: string | undefined,
): boolean {
  if (rules === 'admin') return true;
  const any = (list: readonly string[] | undefined, value: string): boolean => list === undefined || list.includes('*') || list.includes(value);
  return rules.some(
    (r) =>
      any(r.verbs, verb) &&
      any(r.apiGroups, group) &&
      any(r.resources, resource) &&
      (r.namespace === undefined || r.namespace === namespace) &&
      (r.resourceNames === undefined || (name !== undefined && r.resourceNames.includes(name))),
  );
}

export async function startKubeApi(options: KubeApiOptions = {}): Promise<RunningKubeApi> {
  const types = options.resources ?? [...STANDARD_RESOURCES, ...deployResources()];
  const store = new Store(types);
  const namespaces = store.type('namespaces');
  for (const ns of options.namespaces ?? ['default', 'kube-system']) store.create(namespaces, undefined, { metadata: { name: ns } });

  const ca: TestCa = await createCa('imgverify kube-api emulation CA');
  const cert = await issueServerCert(ca);
  const identities = new Map<string, Identity>();
  const issue = (identity: Identity): string => {
    const token = randomBytes(24).toString('base64url');
    identities.set(token, identity);
    return token;
  };
  const adminToken = issue({ user: 'kubernetes-admin', rules: 'admin' });
  const requests: RequestRecord[] = [];
  const watches = new Set<OpenWatch>();
  const sockets = new Set<Socket>();
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 1000;

  const sendJson = (res: ServerResponse, status: number, body: Json, headers: Record<string, string | string[]> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  };

  // --- Discovery -------------------------------------------------------------------------------
  const groups = (): Map<string, ResourceType[]> => {
    const byGroup = new Map<string, ResourceType[]>();
    for (const t of types) byGroup.set(t.group, [...(byGroup.get(t.group) ?? []), t]);
    return byGroup;
  };
  const groupVersions = (group: string): string[] => [...new Set((groups().get(group) ?? []).flatMap((t) => t.versions))];
  const apiGroup = (group: string): Json => {
    const versions = groupVersions(group);
    const preferred = (groups().get(group) ?? [])[0]?.versions[0] ?? versions[0]!;
    return {
      name: group,
      versions: versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${group}/${preferred}`, version: preferred },
    };
  };
  const resourceList = (group: string, version: string): Json => ({
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources: (groups().get(group) ?? [])
      .filter((t) => t.versions.includes(version))
      .flatMap((t) => [
        {
          name: t.resource,
          singularName: t.singular,
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
          ...(t.shortNames.length > 0 ? { shortNames: t.shortNames } : {}),
        },
        ...(t.status ? [{ name: `${t.resource}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] }] : []),
      ]),
  });
  const discovery = (segments: string[], res: ServerResponse): boolean => {
    const [root, group, version] = segments;
    if (root === 'version' && segments.length === 1) {
      sendJson(res, 200, { major: '1', minor: '33', gitVersion: 'v1.33.0-imgverify-emulation', platform: 'linux/amd64' });
    } else if (root === 'api' && segments.length === 1) {
      sendJson(res, 200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${port}` }],
      });
    } else if (root === 'api' && segments.length === 2 && group === 'v1') {
      sendJson(res, 200, resourceList('', 'v1'));
    } else if (root === 'apis' && segments.length === 1) {
      sendJson(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groups().keys()].filter((g) => g !== '').map(apiGroup) });
    } else if (root === 'apis' && segments.length === 2 && groups().has(group!)) {
      sendJson(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group!) });
    } else if (root === 'apis' && segments.length === 3 && groupVersions(group!).includes(version!)) {
      sendJson(res, 200, resourceList(group!, version!));
    } else return false;
    return true;
  };

  // --- Routing ---------------------------------------------------------------------------------
  const route = (segments: string[]): Route | undefined => {
    let group: string;
    let version: string;
    let rest: string[];
    if (segments[0] === 'api') [group, version, rest] = ['', segments[1]!, segments.slice(2)];
    else if (segments[0] === 'apis') [group, version, rest] = [segments[1]!, segments[2]!, segments.slice(3)];
    else return undefined;
    const find = (resource: string | undefined): ResourceType | undefined =>
      types.find((t) => t.group === group && t.resource === resource && t.versions.includes(version));
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && find(rest[2])?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const type = find(rest[0]);
    if (!type || rest.length > 3) return undefined;
    // A namespaced resource by name needs its namespace; only collections span all namespaces.
    if (type.namespaced && namespace === undefined && rest.length > 1) return undefined;
    return {
      type,
      version,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(rest[1] !== undefined ? { name: rest[1] } : {}),
      ...(rest[2] !== undefined ? { subresource: rest[2] } : {}),
    };
  };

  const verbOf = (method: string, r: Route, query: URLSearchParams): string => {
    const watch = query.get('watch');
    if (method === 'GET') return watch === 'true' || watch === '1' ? 'watch' : r.name === undefined ? 'list' : 'get';
    return (
      ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: r.name === undefined ? 'deletecollection' : 'delete' } as Record<string, string>)[method] ??
      method.toLowerCase()
    );
  };

  // --- Watches ---------------------------------------------------------------------------------
  const writeEvent = (w: OpenWatch, type: string, object: Json): void => {
    if (w.res.writableEnded || w.res.destroyed) return;
    w.res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const sendBookmark = (w: OpenWatch): void => {
    if (!w.bookmarks) return;
    w.lastRevision = Math.max(w.lastRevision, store.revision);
    writeEvent(w, 'BOOKMARK', { kind: w.type.kind, apiVersion: apiVersionOf(w.type, w.version), metadata: { resourceVersion: String(w.lastRevision) } });
  };
  const closeWatch = (w: OpenWatch): void => {
    watches.delete(w);
    if (w.timer) clearInterval(w.timer);
  };

  const watch = (r: Route, query: URLSearchParams, res: ServerResponse): void => {
    const selectLabels = query.get('labelSelector') ? labelSelector(query.get('labelSelector')!) : undefined;
    const selectFields = query.get('fieldSelector') ? fieldSelector(query.get('fieldSelector')!) : undefined;
    const matches = (o: Json): boolean =>
      o !== undefined &&
      (!r.type.namespaced || r.namespace === undefined || o.metadata.namespace === r.namespace) &&
      (!selectLabels || selectLabels(o.metadata.labels ?? {})) &&
      (!selectFields || selectFields(o));
    const rv = query.get('resourceVersion') ?? '';
    // Validate before answering 200: a too-old resourceVersion is an ERROR event in the stream.
    let replay: StoredEvent[] = [];
    let initial: Json[] = [];
    let expired: ApiError | undefined;
    if (rv === '' || rv === '0') initial = store.list(r.type, r.namespace, { filter: matches }).items;
    else if (!/^\d+$/.test(rv)) throw new ApiError(400, 'BadRequest', `invalid resource version: ${rv}`);
    else if (Number(rv) > store.revision) throw new ApiError(504, 'Timeout', `Too large resource version: ${rv}, current: ${store.revision}`);
    else {
      try {
        replay = store.eventsSince(r.type, Number(rv));
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        expired = err;
      }
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 0);
    const w: OpenWatch = {
      res,
      type: r.type,
      version: r.version,
      bookmarks: query.get('allowWatchBookmarks') === 'true',
      lastRevision: Number(rv === '' || rv === '0' ? store.revision : rv),
      ...(bookmarkIntervalMs > 0 && query.get('allowWatchBookmarks') === 'true' ? { timer: setInterval(() => sendBookmark(w), bookmarkIntervalMs) } : {}),
    };
    if (expired) {
      writeEvent(w, 'ERROR', expired.status());
      closeWatch(w);
      res.end();
      return;
    }
    watches.add(w);
    const deliver = (e: StoredEvent): void => {
      if (e.resource !== r.type || e.revision <= w.lastRevision) return;
      w.lastRevision = e.revision;
      const now = matches(e.object);
      const before = matches(e.previous);
      // Under a selector, an object that starts or stops matching is added or deleted for this watch.
      const type = e.type === 'DELETED' ? (before ? 'DELETED' : undefined) : now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
      if (type) writeEvent(w, type, store.view(r.type, e.object, r.version));
    };
    for (const o of initial) writeEvent(w, 'ADDED', store.view(r.type, o, r.version));
    for (const e of replay) deliver(e);
    const unsubscribe = store.subscribe(deliver);
    const timeout = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : undefined;
    res.on('close', () => {
      unsubscribe();
      closeWatch(w);
      if (timeout) clearTimeout(timeout);
    });
  };

  // --- Requests --------------------------------------------------------------------------------
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<{ user?: string; verb?: string }> => {
    const url = new URL(req.url ?? '/', 'https://kube.invalid');
    const segments = url.pathname.split('/').filter((s) => s !== '');
    const method = req.method ?? 'GET';
    const auth = firstHeader(req.headers.authorization);
    const identity = auth?.startsWith('Bearer ') ? identities.get(auth.slice(7).trim()) : undefined;
    if (!identity) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    const r = route(segments);
    const verb = r ? verbOf(method, r, url.searchParams) : undefined;
    const hooked = hook?.({
      method,
      path: url.pathname,
      query: url.searchParams,
      ...(verb ? { verb } : {}),
      ...(r ? { resource: r.type.resource } : {}),
      ...(r?.subresource ? { subresource: r.subresource } : {}),
    });
    if (hooked === 'reset') {
      req.socket.destroy();
      return { user: identity.user };
    }
    if (hooked) {
      sendJson(res, hooked.status, hooked.body ?? new ApiError(hooked.status, 'InternalError', `injected failure ${hooked.status}`).status());
      return { user: identity.user };
    }
    if (method === 'GET' && discovery(segments, res)) return { user: identity.user };
    if (!r || !verb) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const { type, namespace, name, subresource } = r;
    const rbacResource = subresource ? `${type.resource}/${subresource}` : type.resource;
    if (!allows(identity.rules, verb, type.group, rbacResource, type.namespaced ? namespace : undefined, name)) {
      const where = type.namespaced ? (namespace !== undefined ? ` in the namespace "${namespace}"` : ' at the cluster scope') : ' at the cluster scope';
      throw new ApiError(
        403,
        'Forbidden',
        `${rbacResource}${type.group ? `.${type.group}` : ''}${name ? ` "${name}"` : ''} is forbidden: User "${identity.user}" cannot ${verb} resource "${rbacResource}" in API group "${type.group}"${where}`,
        {
          ...(name ? { name } : {}),
          group: type.group,
          kind: type.resource,
        },
      );
    }
    const q = url.searchParams;
    const fieldValidation = (q.get('fieldValidation') ?? 'Warn') as FieldValidation;
    const warnings: string[] = [];
    const warningHeaders = (): Record<string, string[]> => (warnings.length > 0 ? { warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) } : {});
    const view = (o: Json): Json => store.view(type, o, r.version);
    switch (verb) {
      case 'watch':
        watch(r, q, res);
        break;
      case 'list': {
        const selectLabels = q.get('labelSelector') ? labelSelector(q.get('labelSelector')!) : undefined;
        const selectFields = q.get('fieldSelector') ? fieldSelector(q.get('fieldSelector')!) : undefined;
        const limit = Number(q.get('limit') ?? 0);
        const result = store.list(type, namespace, {
          ...(q.has('resourceVersion') ? { resourceVersion: q.get('resourceVersion')! } : {}),
          ...(q.has('resourceVersionMatch') ? { resourceVersionMatch: q.get('resourceVersionMatch')! } : {}),
          ...(q.has('continue') ? { continue: q.get('continue')! } : {}),
          ...(Number.isInteger(limit) && limit > 0 ? { limit } : {}),
          filter: (o) => (!selectLabels || selectLabels(o.metadata.labels ?? {})) && (!selectFields || selectFields(o)),
        });
        sendJson(res, 200, {
          kind: type.listKind,
          apiVersion: apiVersionOf(type, r.version),
          metadata: {
            resourceVersion: result.resourceVersion,
            ...(result.continue ? { continue: result.continue, remainingItemCount: result.remainingItemCount } : {}),
          },
          items: result.items.map(view),
        });
        break;
      }
      case 'get': {
        const object = store.get(type, namespace, name!);
        if (subresource !== undefined && subresource !== 'status') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        sendJson(res, 200, view(object));
        break;
      }
      case 'create': {
        if (name !== undefined) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        if (type.namespaced && namespace === undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        const created = store.create(type, namespace, parseJson(await readBody(req)), r.version, { fieldValidation, warnings });
        sendJson(res, 201, view(created), warningHeaders());
        break;
      }
      case 'update': {
        const updated = store.update(type, namespace, name!, parseJson(await readBody(req)), r.version, {
          fieldValidation,
          warnings,
          ...(subresource ? { subresource } : {}),
        });
        sendJson(res, 200, view(updated), warningHeaders());
        break;
      }
      case 'patch': {
        const contentType = (firstHeader(req.headers['content-type']) ?? '').split(';')[0]!.trim();
        const patchType: PatchType | undefined = (
          { 'application/merge-patch+json': 'merge', 'application/json-patch+json': 'json', 'application/strategic-merge-patch+json': 'strategic' } as Record<
            string,
            PatchType
          >
        )[contentType];
        if (!patchType || (patchType === 'strategic' && type.custom)) {
          throw new ApiError(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json${type.custom ? '' : ', application/strategic-merge-patch+json'}`,
          );
        }
        const patched = store.patch(type, namespace, name!, patchType, parseJson(await readBody(req)), r.version, {
          fieldValidation,
          warnings,
          ...(subresource ? { subresource } : {}),
        });
        sendJson(res, 200, view(patched), warningHeaders());
        break;
      }
      case 'delete': {
        const body = await readBody(req);
        const options = body.length > 0 ? parseJson(body) : {};
        const deleted = store.delete(type, namespace, name!, options?.preconditions ?? {});
        sendJson(res, 200, view(deleted));
        break;
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
    return { user: identity.user, verb };
  };

  let hook: RequestHook | undefined;
  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://kube.invalid');
    const record = (status: number, user?: string, verb?: string): void => {
      requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        ...(user ? { user } : {}),
        ...(verb ? { verb } : {}),
        status,
      });
    };
    handle(req, res).then(
      ({ user, verb }) => record(res.statusCode, user, verb),
      (err: unknown) => {
        const error =
          err instanceof ApiError
            ? err
            : err instanceof DocumentError
              ? new ApiError(400, 'BadRequest', err.message)
              : new ApiError(500, 'InternalError', errorMessage(err));
        if (!res.headersSent) sendJson(res, error.code, error.status());
        else res.destroy();
        record(error.code);
      },
    );
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  let port = 0;
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();
  let listening = true;

  const close = async (): Promise<void> => {
    for (const w of [...watches]) closeWatch(w);
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  return {
    url: `https://127.0.0.1:${port}`,
    port,
    ca: ca.certPem,
    store,
    requests,
    token: issue,
    adminToken,
    get hook() {
      return hook;
    },
    set hook(value) {
      hook = value;
    },
    get watchCount() {
      return watches.size;
    },
    dropWatches: () => {
      for (const w of [...watches]) {
        closeWatch(w);
        w.res.socket?.destroy();
      }
    },
    endWatches: () => {
      for (const w of [...watches]) {
        closeWatch(w);
        w.res.end();
      }
    },
    expireWatches: () => {
      store.compact();
      for (const w of [...watches]) {
        writeEvent(w, 'ERROR', store.expired(w.lastRevision).status());
        closeWatch(w);
        w.res.end();
      }
    },
    bookmark: () => {
      for (const w of watches) sendBookmark(w);
    },
    unreachable: close,
    reachable: async () => {
      if (listening) return;
      await listen();
      listening = true;
    },
    stop: close,
  };
}
