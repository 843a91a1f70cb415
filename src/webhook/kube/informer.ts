/**
 * An informer of one resource, built on the official client's (`@kubernetes/client-node`'s
 * `ListWatch`: list, then watch from the list's resourceVersion; a watch that ends resumes from
 * the last resourceVersion seen; 410 Expired lists again), with what a webhook needs around it:
 *
 * - bookmarks: its watches ask for them (`allowWatchBookmarks`), so a quiet resource resumes
 *   from a recent resourceVersion instead of an expired one;
 * - restarts: client-node's informer stops on an error (a cut connection, a refused list); it
 *   is started again after a backoff (200 ms doubling to 10 s, reset once a watch is up);
 * - `synced`, fail closed: true once a list (then its watch) succeeded; false again as soon
 *   as a list or a watch cannot be opened (the API server unreachable, 403, 5xx), until one
 *   can. A watch that drops and is re-opened at once keeps it true (the cache is not stale).
 *
 * `onChange` is called after every change of the cache and of `synced`.
 */
import type { ObjectCache } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { errorMessage } from '../../util/describe';
import type { Logger } from '../log';
import type { KubeConfig, KubernetesClient } from './client';
import { collectionPath, type KubeObject, type KubeResource } from './resources';

/** What an informer uses of the API client (`KubeApi`, which makes informers: no import back). */
export interface InformerApi {
  readonly k8s: KubernetesClient;
  readonly config: KubeConfig;
  list(resource: KubeResource, namespace?: string): Promise<{ readonly items: KubeObject[]; readonly resourceVersion: string }>;
}

export interface InformerOptions {
  /** Only this namespace (a namespaced resource); default all namespaces. */
  readonly namespace?: string;
  /** Called after the cache or `synced` changed (not for each object of a list at once: debounce). */
  readonly onChange: () => void;
  /** Restart backoff, ms (default 200, doubling to 10 000). */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

interface ListWatchLike extends ObjectCache<KubeObject> {
  on(verb: string, cb: (arg: never) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class ResourceInformer {
  private cache: ListWatchLike | undefined;
  private syncedNow = false;
  private lastErrorText: string | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  readonly path: string;

  constructor(
    private readonly api: InformerApi,
    readonly resource: KubeResource,
    private readonly options: InformerOptions & { readonly log: Logger },
  ) {
    this.path = collectionPath(resource, options.namespace);
    this.retryMs = options.retryInitialMs ?? 200;
  }

  /** A list and its watch succeeded, and no list or watch has failed to open since. */
  get synced(): boolean {
    return this.syncedNow;
  }

  /** Why it is not synced (the last failure), if it is not. */
  get lastError(): string | undefined {
    return this.syncedNow ? undefined : this.lastErrorText;
  }

  objects(): readonly KubeObject[] {
    return this.cache?.list() ?? [];
  }

  get(name: string, namespace?: string): KubeObject | undefined {
    return this.cache?.get(name, namespace);
  }

  private changed(): void {
    if (!this.stopped) this.options.onChange();
  }

  private failed(err: unknown, what: string): void {
    const text = `${what} ${this.path}: ${errorMessage(err)}`;
    const wasSynced = this.syncedNow;
    this.syncedNow = false;
    if (wasSynced || text !== this.lastErrorText) {
      this.options.log(wasSynced ? 'error' : 'warn', 'Kubernetes API: cannot read a resource; not ready until it can', { resource: this.path, error: text });
    }
    this.lastErrorText = text;
    this.changed();
  }

  private established(): void {
    this.retryMs = this.options.retryInitialMs ?? 200;
    if (this.syncedNow) return;
    this.syncedNow = true;
    if (this.lastErrorText !== undefined) this.options.log('info', 'Kubernetes API: reading the resource again', { resource: this.path });
    this.changed();
  }

  /** Starts listing and watching (returns at once; `synced` tells when the cache is complete). */
  start(): void {
    const { k8s, config } = this.api;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the Watch subclass below reports to this informer
    const informer = this;
    class BookmarkWatch extends k8s.Watch {
      override async watch(
        path: string,
        params: Record<string, unknown>,
        callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
        done: (err: unknown) => void,
      ): Promise<AbortController> {
        if (informer.stopped) return new AbortController();
        let failed = false;
        let open = false;
        const controller = await super.watch(path, { ...params, allowWatchBookmarks: true }, callback, (err: unknown) => {
          if (!open && err) {
            failed = true;
            // 410 at connect is answered by listing again, not a failure of the API server.
            const status = (err as { statusCode?: unknown }).statusCode;
            if (status !== 410) informer.failed(err, 'watch');
          }
          done(err);
        });
        open = true;
        if (!failed) informer.established();
        return controller;
      }
    }
    const list = async (): Promise<{ metadata: { resourceVersion: string }; items: KubeObject[] }> => {
      try {
        const { items, resourceVersion } = await this.api.list(this.resource, this.options.namespace);
        return { metadata: { resourceVersion }, items };
      } catch (err) {
        this.failed(err, 'list');
        throw err;
      }
    };
    const cache = new k8s.ListWatch<KubeObject>(this.path, new BookmarkWatch(config), list, false) as unknown as ListWatchLike;
    this.cache = cache;
    for (const verb of ['add', 'update', 'delete']) cache.on(verb, () => this.changed());
    cache.on('error', (err: unknown) => {
      if (this.stopped) return;
      // A list or watch that could not open has been reported; a watch cut after it opened is resumed.
      if (this.syncedNow) this.options.log('debug', 'Kubernetes API: watch interrupted; resuming', { resource: this.path, error: errorMessage(err) });
      const delay = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, this.options.retryMaxMs ?? 10_000);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (!this.stopped) void cache.start().catch((e: unknown) => this.failed(e, 'restart'));
      }, delay);
      this.retryTimer.unref();
    });
    void cache.start().catch((err: unknown) => this.failed(err, 'start'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.cache?.stop();
  }
}
