/**
 * The TrustRoots of the policy set in force as trust: loaded once per distinct spec
 * (`TrustRootSet`), a `remote` one through a TUF client that may start before its mirror answers
 * (`LazyTufRoot`). Which trust an authority takes from them is ./authority's `authorityTrust`.
 */
import { createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import {
  hasTufCache,
  ImgverifyError,
  initializeTuf,
  loadTufTrustRoot,
  trustRootFromKeys,
  trustRootFromTufRepository,
  type LoadedTrustRoot,
  type TrustEntry,
  type TrustRootProvider,
  type TufStatus,
  type TufTrustRoot,
} from '../index';
import type { TrustRootDocument } from './trust-root-types';
import { errorMessage } from '../util/describe';
import { mapLimit } from '../util/pool';

/** TrustRoots loaded at once (each a TUF update against its mirror, or a tarball unpacked). */
const MAX_CONCURRENT_LOADS = 8;
/** A mirrorFS tarball unpacks to at most this much (a TUF repository with a few targets is well under 1 MiB). */
const MAX_REPOSITORY_BYTES = 32 * 1024 * 1024;

// --- Resolving ---------------------------------------------------------------------------------

/** The files of a gzipped tarball of a TUF repository, by path below its `repository/` folder (policy-controller's layout). */
async function unpackRepository(mirrorFS: Buffer): Promise<Map<string, Buffer>> {
  const tar = gunzipSync(mirrorFS, { maxOutputLength: MAX_REPOSITORY_BYTES });
  const files = new Map<string, Buffer>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (d: unknown) => chunks.push(d as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') {
          const path = header.name.replace(/^\.?\/+/, '').replace(/^repository\//, '');
          files.set(path, Buffer.concat(chunks));
        }
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(tar);
  await done;
  return files;
}

/** A TrustRoot as trust: fixed, TUF-backed (refreshed), or failing with the reason it could not be loaded. */
export interface ResolvedTrustRoot {
  readonly name: string;
  readonly entry: TrustEntry;
  /** The TUF handle of a `remote` TrustRoot (refreshed periodically). */
  readonly tuf?: LazyTufRoot;
  /** When it was loaded / last refreshed (ms) and its TUF metadata expiry, for metrics. */
  lastRefresh: number;
  expires?: number;
}

/**
 * A `remote` TrustRoot whose first update may fail (mirror down at start-up): until it
 * succeeds, `current()` throws the reason (authorities using it fail closed, operational),
 * and every `refresh()` tries again.
 */
class LazyTufRoot implements TrustRootProvider {
  private tuf: TufTrustRoot | undefined;
  private error: ImgverifyError;
  private running: Promise<string | undefined> | undefined;

  constructor(
    readonly source: string,
    private readonly load: () => Promise<TufTrustRoot>,
  ) {
    this.error = new ImgverifyError('TUF_MIRROR_UNREACHABLE', `${source} is not loaded yet`);
  }

  current(): LoadedTrustRoot {
    if (!this.tuf) throw this.error;
    return this.tuf.current();
  }

  status(): TufStatus | undefined {
    return this.tuf?.status();
  }

  /** Loads it (first time) or refreshes it; returns the warning of a refresh that kept the cache, or throws. Concurrent calls share one. */
  refresh(): Promise<string | undefined> {
    this.running ??= this.loadOrRefresh().finally(() => (this.running = undefined));
    return this.running;
  }

  private async loadOrRefresh(): Promise<string | undefined> {
    if (!this.tuf) {
      try {
        this.tuf = await this.load();
        return this.tuf.warnings[0];
      } catch (err) {
        this.error = err instanceof ImgverifyError ? err : new ImgverifyError('TUF_MIRROR_UNREACHABLE', `${this.source}: ${errorMessage(err)}`, { cause: err });
        throw this.error;
      }
    }
    return (await this.tuf.refresh()).warning;
  }
}

export interface TrustRootSetOptions {
  /** Where `remote` TrustRoots keep their TUF caches (one folder each) and `repository` ones unpack. */
  readonly cacheDir: string;
  /** Never contact a mirror (remote TrustRoots then need a cache from an earlier run). */
  readonly offline?: boolean | undefined;
}

function specKey(doc: TrustRootDocument): string {
  const hash = createHash('sha256');
  const spec = doc.spec;
  if (spec.kind === 'sigstoreKeys') hash.update(JSON.stringify(spec.keys));
  else if (spec.kind === 'remote') hash.update(`${spec.mirror}\0${spec.targets ?? ''}\0`).update(spec.root);
  else
    hash
      .update(`${spec.targets ?? ''}\0`)
      .update(spec.root)
      .update('\0')
      .update(spec.mirrorFS);
  return `${doc.name}\0${spec.kind}\0${hash.digest('hex')}`;
}

/**
 * The TrustRoots of the policy set in force, loaded once per distinct spec (a policy reload
 * that keeps a TrustRoot keeps its loaded trust and TUF cache).
 */
export class TrustRootSet {
  private byKey = new Map<string, ResolvedTrustRoot>();
  private byName = new Map<string, ResolvedTrustRoot>();

  constructor(private readonly options: TrustRootSetOptions) {}

  /**
   * @internal A set over trust loaded elsewhere (a worker's, from its primary: ./worker-state);
   * it loads and refreshes nothing itself.
   */
  static of(entries: readonly ResolvedTrustRoot[]): TrustRootSet {
    const set = new TrustRootSet({ cacheDir: '', offline: true });
    set.byName = new Map(entries.map((r) => [r.name, r]));
    set.byKey = new Map(entries.map((r) => [`transferred\0${r.name}`, r]));
    return set;
  }

  /**
   * Loads the documents (those already loaded are kept); returns the errors of those that
   * failed (they fail closed). New ones load concurrently: a mirror that does not answer costs
   * its own timeout, not the sum of every mirror's.
   */
  async load(docs: readonly TrustRootDocument[]): Promise<Array<{ name: string; error: ImgverifyError }>> {
    const keyed = docs.map((doc) => ({ doc, key: specKey(doc) }));
    const fresh = [...new Map(keyed.filter(({ key }) => !this.byKey.has(key)).map((k) => [k.key, k])).values()];
    const loaded = new Map<string, { resolved: ResolvedTrustRoot; failure: ImgverifyError | undefined }>();
    await mapLimit(fresh, MAX_CONCURRENT_LOADS, async ({ doc, key }) => {
      const resolved = await this.resolve(doc, key);
      loaded.set(key, { resolved, failure: await this.firstLoad(resolved) });
    });
    const next = new Map<string, ResolvedTrustRoot>();
    const errors: Array<{ name: string; error: ImgverifyError }> = [];
    for (const { doc, key } of keyed) {
      if (next.has(key)) continue;
      const fromLoad = loaded.get(key);
      if (fromLoad?.failure) errors.push({ name: doc.name, error: fromLoad.failure });
      next.set(key, fromLoad?.resolved ?? this.byKey.get(key)!);
    }
    this.byKey = next;
    this.byName = new Map([...next.values()].map((r) => [r.name, r]));
    return errors;
  }

  /** @internal */
  get(name: string): ResolvedTrustRoot | undefined {
    return this.byName.get(name);
  }

  /** @internal Why the TrustRoot `name` cannot be used now (authorities using it fail closed), if it cannot. */
  failure(name: string): ImgverifyError | undefined {
    const entry = this.byName.get(name)?.entry;
    if (!entry || !('current' in entry)) return undefined;
    try {
      entry.current();
      return undefined;
    } catch (err) {
      return err instanceof ImgverifyError ? err : new ImgverifyError('TRUST_ROOT_INVALID', errorMessage(err), { cause: err });
    }
  }

  /** @internal */
  get all(): readonly ResolvedTrustRoot[] {
    return [...this.byName.values()];
  }

  /** @internal Refreshes the TUF-backed TrustRoots, concurrently (an update from the mirror only when due); one result each. */
  async refresh(): Promise<Array<{ name: string; result: 'refreshed' | 'kept' | 'failed'; message?: string }>> {
    const tufRoots = [...this.byName.values()].filter((r) => r.tuf !== undefined);
    return mapLimit(tufRoots, MAX_CONCURRENT_LOADS, async (r) => {
      try {
        const warning = await r.tuf!.refresh();
        this.track(r);
        return warning ? { name: r.name, result: 'kept' as const, message: warning } : { name: r.name, result: 'refreshed' as const };
      } catch (err) {
        return { name: r.name, result: 'failed' as const, message: errorMessage(err) };
      }
    });
  }

  private track(r: ResolvedTrustRoot): void {
    const status = r.tuf?.status();
    if (!status) return;
    r.lastRefresh = Date.parse(status.updatedAt);
    r.expires = Date.parse(status.expires);
  }

  private async firstLoad(r: ResolvedTrustRoot): Promise<ImgverifyError | undefined> {
    if (!r.tuf) return undefined;
    try {
      await r.tuf.refresh();
      this.track(r);
      return undefined;
    } catch (err) {
      return err instanceof ImgverifyError ? err : new ImgverifyError('TUF_MIRROR_UNREACHABLE', errorMessage(err));
    }
  }

  private async resolve(doc: TrustRootDocument, key: string): Promise<ResolvedTrustRoot> {
    const source = `TrustRoot ${doc.name}`;
    const spec = doc.spec;
    const folder = join(this.options.cacheDir, `trustroot-${doc.name}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`);
    if (spec.kind === 'sigstoreKeys') return { name: doc.name, entry: trustRootFromKeys(spec.keys, source), lastRefresh: Date.now() };
    if (spec.kind === 'repository') {
      try {
        const files = await unpackRepository(spec.mirrorFS);
        const loaded = await trustRootFromTufRepository(spec.root, files, {
          source,
          scratchDir: this.options.cacheDir,
          ...(spec.targets !== undefined ? { targets: spec.targets } : {}),
        });
        return { name: doc.name, entry: loaded.root, lastRefresh: Date.now(), expires: Date.parse(loaded.status.expires) };
      } catch (err) {
        const error =
          err instanceof ImgverifyError
            ? err
            : new ImgverifyError(
                'TUF_METADATA_INVALID',
                `${source}: spec.repository.mirrorFS is not a gzipped tarball of a TUF repository: ${errorMessage(err)}`,
              );
        return { name: doc.name, entry: failing(source, error), lastRefresh: Date.now() };
      }
    }
    const offline = this.options.offline === true;
    const initialize = (): Promise<TufTrustRoot> =>
      initializeTuf({ mirror: spec.mirror, root: spec.root, cacheDir: folder, ...(spec.targets !== undefined ? { targets: spec.targets } : {}) });
    const tuf = new LazyTufRoot(source, async () => {
      // The folder is one the webhook makes below its cache: anything but a folder there is refused.
      const info = await lstat(folder).catch(() => undefined);
      if (info && !info.isDirectory())
        throw new ImgverifyError('TUF_METADATA_INVALID', `${source}: its TUF cache ${folder} is not a folder (a link or a file planted there is refused)`);
      if (!hasTufCache(folder)) {
        if (offline)
          throw new ImgverifyError('TUF_NOT_INITIALIZED', `${source}: no TUF cache in ${folder} and offline: its mirror ${spec.mirror} may not be asked`);
        return initialize();
      }
      try {
        return await loadTufTrustRoot({ cacheDir: folder, offline });
      } catch (err) {
        // A damaged cache of the webhook's own is rebuilt from the document's root, as a new pod's empty one would be.
        if (offline || !(err instanceof ImgverifyError) || err.code !== 'TUF_NOT_INITIALIZED') throw err;
        return initialize();
      }
    });
    return { name: doc.name, entry: tuf, tuf, lastRefresh: 0 };
  }
}

/** A provider that always fails with `error` (a TrustRoot that could not be loaded: fail closed). */
function failing(source: string, error: ImgverifyError): TrustRootProvider {
  return {
    source,
    current: () => {
      throw error;
    },
  };
}
