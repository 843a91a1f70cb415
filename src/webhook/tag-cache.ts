/**
 * Tags resolved ahead of the admissions that name them, so that a warm admission by tag makes
 * no registry request (docs/webhook.md, "Tags").
 *
 *   admission ─► digest(tag, scope) ─ a resolution that started < maxAge ago ─► its digest
 *                     │ none, or older                                           (no request)
 *                     ▼
 *              resolve now (joining a refresh in flight) ─► kept, its digest
 *
 *   every maxAge/15: an entry nobody asked for within `idleMs` is dropped; one whose
 *   resolution is ⅔·maxAge old is resolved again (`refresh`: a HEAD where the registry
 *   announces the digest), at most `concurrency` at once, each within ¼·maxAge.
 *
 * The bound: an admission only ever uses a resolution that started less than `maxAgeMs`
 * before it (a refresh counts from when it was sent), so a tag moved at time T is seen by
 * every admission that starts after T + maxAgeMs; a refresh that fails leaves the entry to
 * expire at that age, and the next admission resolves in the foreground (and fails closed if
 * the registry still cannot answer). A tag that no longer exists, or that its credentials may
 * no longer read, is dropped at once. Steadily asked-for tags are resolved again before they
 * expire, so admissions do not wait on the registry.
 *
 * Scope: an entry is keyed by the credentials it was resolved with (the admitted object's
 * pull secrets: namespace, Secret names, ServiceAccount; or none, the webhook's own), as a
 * failed verdict is. A resolution made with one object's pull secrets is used only for
 * admissions with the same ones, so no object learns, through a pinned digest, what a tag it
 * cannot read points to. The background refresh uses the credentials of the latest admission
 * of that scope.
 *
 * Nothing here decides admission: the digest is verified by the evaluator like any other, and
 * `/mutate` pins exactly the digest that was verified. A kept digest that is denied is checked
 * once against the registry (`resolveAgain`), so a tag moved to signed content is admitted at
 * once rather than after the next refresh.
 */
import type { CallCredentials, ImageReference } from '../index';
import { ImgverifyError } from '../index';
import { abortable } from '../util/abort';

export interface TagCacheOptions {
  /**
   * The oldest resolution an admission may use, ms (the bound on how late a moved tag is
   * seen); entries are resolved again in the background at ⅔ of it. Must be positive.
   */
  readonly maxAgeMs: number;
  /** An entry no admission asked for within this long is dropped (no longer refreshed). Default 5 min. */
  readonly idleMs?: number | undefined;
  /** Most entries (the least recently asked-for goes first). Default 10 000. */
  readonly maxEntries?: number | undefined;
  /** Background refreshes at once. Default 8. */
  readonly concurrency?: number | undefined;
  /** Clock (tests). */
  readonly now?: (() => number) | undefined;
  /** Each lookup: answered from the cache (`hit`) or resolved in the foreground (`miss`). */
  readonly onLookup?: ((result: 'hit' | 'miss') => void) | undefined;
  /** Each background refresh: same digest, moved, dropped (gone or no longer readable), failed (kept until it expires). */
  readonly onRefresh?: ((result: TagRefreshResult) => void) | undefined;
}

export type TagRefreshResult = 'unchanged' | 'moved' | 'dropped' | 'failed';

/** Resolves a tag in the background (no admission waits on it unless it joins). */
export type TagRefresher = (ref: ImageReference, signal: AbortSignal, credentials?: CallCredentials) => Promise<string>;

/** Who resolves a tag: the fingerprint of the admitted object's credentials, and the credentials (none: the webhook's own). */
export interface TagScope {
  readonly fingerprint?: string;
  readonly credentials?: CallCredentials;
}

/** Defaults: a resolution is used up to 30 s, an unasked tag is dropped after 5 min, at most 10 000 tags, 8 refreshes at once. */
export const TAG_CACHE_DEFAULTS = Object.freeze({ maxAgeMs: 30_000, idleMs: 5 * 60_000, maxEntries: 10_000, concurrency: 8 });

/** Refresh results that mean the tag is gone for this scope: drop it rather than keep its last digest. */
const DROP_CODES = new Set(['IMAGE_NOT_FOUND', 'REGISTRY_AUTH_FAILED']);

interface Entry {
  readonly ref: ImageReference;
  digest: string;
  /** When the resolution that gave `digest` was sent. */
  resolvedAt: number;
  lastUsed: number;
  credentials: CallCredentials | undefined;
  /** A background refresh in flight, and when it was sent. */
  refresh?: { readonly promise: Promise<string>; readonly sentAt: number; readonly controller: AbortController };
}

function keyOf(ref: ImageReference, scope: TagScope): string {
  return `${scope.fingerprint ?? ''}\0${ref.registry}/${ref.repository}:${ref.tag ?? 'latest'}`;
}

export class TagCache {
  private readonly entries = new Map<string, Entry>();
  /** Foreground resolutions in flight (keys without an entry, or with an expired one). */
  private readonly pending = new Map<string, { readonly promise: Promise<string>; readonly sentAt: number }>();
  private readonly maxAgeMs: number;
  private readonly idleMs: number;
  private readonly maxEntries: number;
  private readonly concurrency: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private refreshing = 0;
  private closed = false;

  constructor(
    private readonly options: TagCacheOptions,
    private readonly refresher: TagRefresher,
  ) {
    const positive = (n: number | undefined, name: string, integer = false): void => {
      if (n !== undefined && !(Number.isFinite(n) && n > 0 && (!integer || Number.isInteger(n)))) {
        throw new ImgverifyError('INVALID_OPTIONS', `tag cache: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(n)}`);
      }
    };
    positive(options.maxAgeMs, 'maxAgeMs');
    positive(options.idleMs, 'idleMs');
    positive(options.maxEntries, 'maxEntries', true);
    positive(options.concurrency, 'concurrency', true);
    this.maxAgeMs = options.maxAgeMs;
    this.idleMs = options.idleMs ?? TAG_CACHE_DEFAULTS.idleMs;
    this.maxEntries = options.maxEntries ?? TAG_CACHE_DEFAULTS.maxEntries;
    this.concurrency = options.concurrency ?? TAG_CACHE_DEFAULTS.concurrency;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The digest `ref`'s tag points to for `scope`: from a resolution younger than maxAgeMs, else
   * from `resolveNow()` (the admission's own request; joined by concurrent admissions of the
   * same scope, and joining a refresh in flight). Rejects as `resolveNow` does; nothing failed
   * is kept.
   */
  async digest(ref: ImageReference, scope: TagScope, resolveNow: () => Promise<string>, signal?: AbortSignal): Promise<string> {
    return (await this.lookup(ref, scope, resolveNow, signal)).digest;
  }

  /**
   * As digest(), and whether the answer is a kept resolution (`kept`: made before this call,
   * by an earlier admission or a refresh) rather than one this call asked for.
   */
  async lookup(ref: ImageReference, scope: TagScope, resolveNow: () => Promise<string>, signal?: AbortSignal): Promise<{ digest: string; kept: boolean }> {
    const key = keyOf(ref, scope);
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry) {
      // The latest asker's credentials serve the background refreshes of this scope.
      entry.credentials = scope.credentials;
      entry.lastUsed = now;
      this.entries.delete(key);
      this.entries.set(key, entry);
      if (now - entry.resolvedAt < this.maxAgeMs) {
        this.options.onLookup?.('hit');
        return { digest: entry.digest, kept: true };
      }
    }
    this.options.onLookup?.('miss');
    const flight = entry?.refresh ?? this.pending.get(key);
    if (flight !== undefined) {
      try {
        return { digest: await abortable(flight.promise, signal), kept: true };
      } catch (err) {
        // Another request's failure (its deadline, a refresh that failed): try on our own.
        if (signal?.aborted) throw err;
      }
    }
    return { digest: await abortable(this.resolveInForeground(key, ref, scope, resolveNow), signal), kept: false };
  }

  /**
   * Resolves the tag now with `resolveNow` (not from what is kept) and keeps the answer: after
   * a kept resolution's digest was denied, so that a tag moved to signed content is admitted at
   * once rather than within maxAge. Counted as a miss.
   */
  resolveAgain(ref: ImageReference, scope: TagScope, resolveNow: () => Promise<string>, signal?: AbortSignal): Promise<string> {
    this.options.onLookup?.('miss');
    return abortable(this.resolveInForeground(keyOf(ref, scope), ref, scope, resolveNow), signal);
  }

  /** Stops refreshing and forgets every entry; refreshes in flight are aborted. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const entry of this.entries.values()) entry.refresh?.controller.abort(new ImgverifyError('ABORTED', 'the tag cache is closed'));
    this.entries.clear();
  }

  private resolveInForeground(key: string, ref: ImageReference, scope: TagScope, resolveNow: () => Promise<string>): Promise<string> {
    const sentAt = this.now();
    const promise = resolveNow().then((digest) => {
      this.store(key, ref, digest, sentAt, scope.credentials);
      return digest;
    });
    const settled = promise.finally(() => {
      if (this.pending.get(key)?.promise === promise) this.pending.delete(key);
    });
    settled.catch(() => undefined);
    this.pending.set(key, { promise, sentAt });
    return promise;
  }

  private store(key: string, ref: ImageReference, digest: string, sentAt: number, credentials: CallCredentials | undefined): void {
    if (this.closed) return;
    const existing = this.entries.get(key);
    const now = this.now();
    if (existing) {
      // An older answer never replaces a newer one.
      if (existing.resolvedAt <= sentAt) {
        existing.digest = digest;
        existing.resolvedAt = sentAt;
      }
      existing.lastUsed = now;
      return;
    }
    this.entries.set(key, { ref, digest, resolvedAt: sentAt, lastUsed: now, credentials });
    while (this.entries.size > this.maxEntries) {
      const [oldest, dropped] = this.entries.entries().next().value as [string, Entry];
      dropped.refresh?.controller.abort(new ImgverifyError('ABORTED', 'the tag was pushed out of the cache'));
      this.entries.delete(oldest);
    }
    this.timer ??= this.startTimer();
  }

  private startTimer(): NodeJS.Timeout {
    const timer = setInterval(() => this.tick(), Math.max(50, Math.floor(this.maxAgeMs / 15)));
    timer.unref();
    return timer;
  }

  /** Drops idle entries, starts the refreshes that are due (oldest first, within the bound on concurrency). */
  private tick(): void {
    const now = this.now();
    const due: Array<[string, Entry]> = [];
    for (const [key, entry] of this.entries) {
      if (now - entry.lastUsed >= this.idleMs) {
        entry.refresh?.controller.abort(new ImgverifyError('ABORTED', 'the tag is no longer asked for'));
        this.entries.delete(key);
      } else if (entry.refresh === undefined && now - entry.resolvedAt >= (this.maxAgeMs * 2) / 3) {
        due.push([key, entry]);
      }
    }
    if (this.entries.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    due.sort((a, b) => a[1].resolvedAt - b[1].resolvedAt);
    for (const [key, entry] of due) {
      if (this.refreshing >= this.concurrency) break;
      this.refresh(key, entry);
    }
  }

  private refresh(key: string, entry: Entry): void {
    const sentAt = this.now();
    const controller = new AbortController();
    const deadline = setTimeout(
      () =>
        controller.abort(
          new ImgverifyError(
            'REGISTRY_TIMEOUT',
            `refreshing ${entry.ref.registry}/${entry.ref.repository}:${entry.ref.tag ?? 'latest'} took over ${Math.floor(this.maxAgeMs / 4)} ms`,
          ),
        ),
      Math.floor(this.maxAgeMs / 4),
    );
    this.refreshing++;
    const promise = abortable(this.refresher(entry.ref, controller.signal, entry.credentials), controller.signal);
    entry.refresh = { promise, sentAt, controller };
    promise
      .then(
        (digest) => {
          this.options.onRefresh?.(digest === entry.digest ? 'unchanged' : 'moved');
          if (this.entries.get(key) === entry && entry.resolvedAt <= sentAt) {
            entry.digest = digest;
            entry.resolvedAt = sentAt;
          }
        },
        (err: unknown) => {
          const code = err instanceof ImgverifyError ? err.code : undefined;
          const drop = code !== undefined && DROP_CODES.has(code) && !controller.signal.aborted;
          this.options.onRefresh?.(drop ? 'dropped' : 'failed');
          // Gone, or not readable with these credentials any more: the next admission asks the registry itself.
          if (drop && this.entries.get(key) === entry) this.entries.delete(key);
        },
      )
      .finally(() => {
        clearTimeout(deadline);
        this.refreshing--;
        if (entry.refresh?.promise === promise) delete entry.refresh;
      })
      .catch(() => undefined);
  }
}
