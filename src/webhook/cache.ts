/**
 * The verification cache: what a policy decided about an image digest, kept for a while.
 *
 * Keyed by (digest, policy-set version, policy name, trust version): a digest names immutable
 * content, the policy-set version changes with any edit of the policy folder, the trust version
 * with the content of any trust root in force (a TUF refresh that brings a new root), so an
 * entry can only be wrong when the signatures in the registry change (a signature added or
 * removed) -- which is what the TTL bounds. Tags are never keys: they are resolved on every
 * request.
 *
 * A Map keeps insertion order, which makes it an LRU: a hit is re-inserted at the end and
 * the first key is the least recently used.
 *
 * `getOrRun` also de-duplicates work in flight: concurrent callers for one key share one run.
 */

export interface TtlCacheOptions {
  /** How long an entry lives, in ms (per entry, see `set`). */
  readonly ttlMs: number;
  /** Most entries kept; the least recently used goes first. */
  readonly maxEntries: number;
  /** Clock (tests). Default Date.now. */
  readonly now?: () => number;
}

/** How `getOrRun` had its value: from the cache, by joining a run in flight, or by starting one. */
export type CacheLookup<V> = { readonly how: 'hit'; readonly value: V } | { readonly how: 'joined' | 'run'; readonly value: Promise<V> };

export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private readonly inflight = new Map<string, Promise<V>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: TtlCacheOptions) {
    if (!(Number.isFinite(options.ttlMs) && options.ttlMs >= 0)) throw new RangeError(`ttlMs must be a non-negative number, got ${options.ttlMs}`);
    if (!(Number.isInteger(options.maxEntries) && options.maxEntries >= 0)) {
      throw new RangeError(`maxEntries must be a non-negative integer, got ${options.maxEntries}`);
    }
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, when present and not expired (an expired entry is removed). */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores a value for `ttlMs` (at most the cache's TTL). A zero TTL or size stores nothing. */
  set(key: string, value: V, ttlMs = this.ttlMs): void {
    const ttl = Math.min(ttlMs, this.ttlMs);
    if (ttl <= 0 || this.maxEntries === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + ttl });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /**
   * The cached value of `key`; else the run in flight for `key`, joined; else `run()`, started
   * now and shared with every caller for `key` until it settles. Its value is then kept for
   * `ttlFor(value)` ms (undefined: the cache's TTL; false: not kept); a rejection is never kept.
   */
  getOrRun(key: string, run: () => Promise<V>, ttlFor: (value: V) => number | undefined | false): CacheLookup<V> {
    const cached = this.get(key);
    if (cached !== undefined) return { how: 'hit', value: cached };
    const inflight = this.inflight.get(key);
    if (inflight) return { how: 'joined', value: inflight };
    const flight = run().then((value) => {
      const ttl = ttlFor(value);
      if (ttl !== false) this.set(key, value, ttl);
      return value;
    });
    const settled = flight.finally(() => this.inflight.delete(key));
    settled.catch(() => undefined);
    this.inflight.set(key, flight);
    return { how: 'run', value: flight };
  }

  delete(key: string): boolean {
    return this.entries.delete(key);
  }

  /** Forgets every entry (runs in flight go on, and keep their values as `ttlFor` says). */
  clear(): void {
    this.entries.clear();
  }

  /** Removes expired entries (they are otherwise removed when looked up or pushed out). */
  prune(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);
  }
}

/**
 * The cache key of one policy's outcome for one image digest under one policy-set version and
 * one version of the trust material (`trustMaterialVersion`).
 */
export function verdictKey(digest: string, policySetVersion: string, policyName: string, trustVersion: string): string {
  // NUL cannot occur in any of the four (digest grammar, hex versions, DNS name).
  return `${digest}\0${policySetVersion}\0${policyName}\0${trustVersion}`;
}
